package dev.selectune.training;

import com.google.gson.Gson;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import com.google.gson.JsonSyntaxException;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.SortedMap;
import java.util.StringJoiner;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * The job a checkpoint belongs to, stored in the checkpoint as canonical JSON: every option that shapes the LoRA
 * by sorted name, with its value as text (defaults filled in), plus what the model and data contribute (the LoRA
 * parameter layout, the number of images, the seed). A resuming job compares its own with the stored one key by
 * key, so the check explains itself and survives an upgrade: an option the checkpoint does not have (it was
 * written before the option existed) counts as the option's default, which by rule is the behaviour from before.
 *
 * <p>Format {@value #VERSION}. Format 1 (Selectune before the hyperparameters were defined once) was a hash of
 * {@code TrainingConfig.toString()}, which any new option changed; {@link #formatOne} recomputes it so that a
 * checkpoint taken by that version still resumes after the upgrade, for the same job.
 */
public record JobFingerprint(SortedMap<String, String> values) {
    public static final int VERSION = 2;
    private static final Gson GSON = new Gson();

    public JobFingerprint {
        values = new TreeMap<>(values);
    }

    /** The record components of TrainingConfig when format 1 was written, in their order then: frozen. */
    private static final List<String> FORMAT_ONE_COMPONENTS = List.of("instancePrompt", "classPrompt",
            "validationPrompts", "schedule", "steps", "seed", "resolution", "resizeRatio", "rank", "loraAlpha",
            "learningRate", "adamBeta1", "adamBeta2", "adamEpsilon", "weightDecay", "maxGradNorm", "zoPerturbations",
            "zoEpsilon", "zoLearningRate", "k", "tMid", "tMax", "gradientCheckpointing", "horizontalFlip",
            "checkpointEvery", "numClassImages", "priorLossWeight", "validationSteps", "guidanceScale", "precision",
            "weightsDtype");
    private static final Pattern FORMAT_ONE = Pattern.compile("[0-9a-f]{24}");

    /** Whether a stored fingerprint is of format 1 (24 hex digits). */
    public static boolean isFormatOne(String stored) {
        return FORMAT_ONE.matcher(stored).matches();
    }

    /**
     * The format-1 fingerprint of a job, as that version computed it: the first 12 bytes of SHA-256 over the
     * record text of its config (with the options that do not shape the LoRA neutralised and the run's seed) and
     * the LoRA layout and image count; null when the job uses an option format 1 did not have at other than its
     * default, since such a job cannot be the one that checkpoint belongs to.
     */
    public static String formatOne(TrainingConfig config, long seed, List<String> loraNames, long loraParameters,
                                   int images) {
        HyperparameterSet<TrainingConfig> set = TrainingConfig.HYPERPARAMETERS;
        TrainingConfig relevant = config.toBuilder().checkpointEvery(0).validationPrompts(List.of())
                .validationSteps(1).guidanceScale(0).seed(seed).build();
        StringJoiner record = new StringJoiner(", ", "TrainingConfig[", "]");
        Set<String> known = new TreeSet<>();
        for (String component : FORMAT_ONE_COMPONENTS) {
            HyperparameterSet.Definition d = set.get(snakeCase(component));
            known.add(d.name());
            record.add(component + "=" + d.get(relevant));
        }
        for (HyperparameterSet.Definition d : set.all()) {
            if (!known.contains(d.name()) && !d.canonical(d.get(relevant)).equals(d.canonicalDefault())) {
                return null;
            }
        }
        String text = record + "|" + loraNames + "|" + loraParameters + "|" + images;
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String snakeCase(String camel) {
        return camel.replaceAll("([A-Z])", "_$1").toLowerCase(Locale.ROOT);
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
            throw new IllegalArgumentException("checkpoint: unreadable job fingerprint; this version reads formats 1"
                    + " and " + VERSION, e);
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
