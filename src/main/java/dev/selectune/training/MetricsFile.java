package dev.selectune.training;

import com.google.gson.FieldNamingPolicy;
import com.google.gson.Gson;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import com.google.gson.JsonPrimitive;
import com.google.gson.JsonSerializer;
import dev.selectune.training.schedule.Schedule;
import dev.selectune.training.schedule.Strategy;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Writes {@code metrics.json}: the job's seed and config (snake_case names, as the API spells them), the memory
 * summary with what it includes, the totals, and the per-step series ({@code step}, {@code strategy},
 * {@code timestep}, {@code p_zo}, {@code loss}, {@code seconds}, {@code peak_bytes}).
 */
public final class MetricsFile {
    private static final Gson GSON = new GsonBuilder()
            .setFieldNamingPolicy(FieldNamingPolicy.LOWER_CASE_WITH_UNDERSCORES)
            .registerTypeAdapter(Schedule.class, (JsonSerializer<Schedule>) (s, t, c) -> new JsonPrimitive(s.wireName()))
            .registerTypeAdapter(Strategy.class, (JsonSerializer<Strategy>) (s, t, c) -> new JsonPrimitive(s.wireName()))
            .serializeSpecialFloatingPointValues()
            .serializeNulls()
            .setPrettyPrinting()
            .create();

    private MetricsFile() {
    }

    public static JsonObject toJson(TrainingConfig config, long seed, TrainingLoop.Outcome outcome) {
        JsonObject root = new JsonObject();
        root.addProperty("seed", seed);
        root.addProperty("steps_done", outcome.stepsDone());
        root.addProperty("bp_steps", outcome.bpSteps());
        root.addProperty("zo_steps", outcome.zoSteps());
        root.addProperty("final_loss", outcome.finalLoss());
        root.addProperty("cancelled", outcome.cancelled());
        root.add("memory", GSON.toJsonTree(outcome.memory()));
        root.add("config", GSON.toJsonTree(config));
        JsonArray steps = new JsonArray();
        for (StepReport r : outcome.history()) {
            JsonObject s = new JsonObject();
            s.addProperty("step", r.step());
            s.addProperty("strategy", r.strategy().wireName());
            s.addProperty("timestep", r.timestep());
            s.addProperty("p_zo", r.pZo());
            s.addProperty("loss", r.loss());
            s.addProperty("seconds", r.seconds());
            s.addProperty("peak_bytes", r.peakBytes());
            steps.add(s);
        }
        root.add("steps", steps);
        return root;
    }

    public static Path write(Path file, TrainingConfig config, long seed, TrainingLoop.Outcome outcome) {
        try {
            Files.createDirectories(file.toAbsolutePath().getParent());
            Files.writeString(file, GSON.toJson(toJson(config, seed, outcome)));
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + file + ": " + e.getMessage(), e);
        }
    }
}
