package dev.selectune.jobs;

import dev.selectune.util.Problem;
import dev.selectune.training.TrainingConfig;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/** A client's free-form {@code metadata} on a job or a generation: at most 16 keys of 64 and values of 512 characters. */
public final class Metadata {
    public static final int MAX_KEYS = 16;

    private Metadata() {
    }

    public static List<Problem> problems(Map<String, String> metadata) {
        List<Problem> out = new ArrayList<>();
        if (metadata == null) {
            return out;
        }
        if (metadata.size() > MAX_KEYS) {
            out.add(new Problem("metadata", "at most " + MAX_KEYS + " keys, got " + metadata.size()));
        }
        metadata.forEach((key, value) -> {
            if (key.length() > 64 || (value != null && value.length() > 512)) {
                out.add(new Problem("metadata." + key, "keys at most 64 and values at most 512 characters"));
            } else if (TrainingConfig.firstControlCharacter(key) >= 0
                    || (value != null && TrainingConfig.firstControlCharacter(value) >= 0)) {
                out.add(new Problem("metadata." + key, "no control characters other than tab and line breaks"));
            }
        });
        return out;
    }
}
