package dev.selectune.training;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.TreeMap;
import java.util.TreeSet;

/**
 * The job a checkpoint belongs to, stored in the checkpoint as canonical JSON: every option that shapes the LoRA
 * by sorted name, with its value as text (defaults filled in), plus what the model and data contribute (the LoRA
 * parameter layout, the number of images, the seed). A resuming job compares its own with the stored one key by
 * key, so the check explains itself and survives an upgrade: an option the checkpoint does not have (it was
 * written before the option existed) counts as the option's default, which by rule is the behaviour from before.
 *
 * <p>Format {@value #VERSION}; format 1 was a hash of {@code TrainingConfig.toString()}, which any new option
 * changed. A checkpoint of another format is refused, as one of another job is.
 */
public record JobFingerprint(SortedMap<String, String> values) {
    public static final int VERSION = 2;
    private static final Gson GSON = new Gson();

    public JobFingerprint {
        values = new TreeMap<>(values);
    }

    public String encode() {
        JsonObject o = new JsonObject();
        o.addProperty("version", VERSION);
        o.add("values", GSON.toJsonTree(values));
        return GSON.toJson(o);
    }

    /** Reads what {@link #encode} wrote; anything else fails with IllegalArgumentException. */
    public static JobFingerprint decode(String text) {
        try {
            JsonObject o = JsonParser.parseString(text).getAsJsonObject();
            if (!o.has("version") || o.get("version").getAsInt() != VERSION || !o.has("values")) {
                throw new IllegalArgumentException("checkpoint: job fingerprint of another format ("
                        + o.get("version") + "); this version reads format " + VERSION);
            }
            SortedMap<String, String> values = new TreeMap<>();
            o.getAsJsonObject("values").entrySet().forEach(e -> values.put(e.getKey(), e.getValue().getAsString()));
            return new JobFingerprint(values);
        } catch (JsonSyntaxException | IllegalStateException | UnsupportedOperationException e) {
            throw new IllegalArgumentException("checkpoint: job fingerprint of format 1 or unreadable; this version "
                    + "reads format " + VERSION, e);
        }
    }

    /**
     * What makes {@code current} another job than this (stored) one, as "name: stored value in the checkpoint,
     * current value now"; empty when the checkpoint may be resumed.
     *
     * @param defaults the canonical default of each option, for keys a checkpoint written before them lacks
     */
    public List<String> differences(JobFingerprint current, Map<String, String> defaults) {
        Set<String> keys = new TreeSet<>(values.keySet());
        keys.addAll(current.values.keySet());
        List<String> out = new ArrayList<>();
        for (String key : keys) {
            String stored = values.containsKey(key) ? values.get(key) : defaults.get(key);
            String now = current.values.get(key);
            if (stored == null || !stored.equals(now)) {
                out.add(key + ": " + (values.containsKey(key) ? stored : "absent") + " in the checkpoint, "
                        + (now == null ? "absent" : now) + " now");
            }
        }
        return out;
    }
}
