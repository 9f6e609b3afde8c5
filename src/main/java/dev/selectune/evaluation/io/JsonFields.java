package dev.selectune.evaluation.io;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Strict reads of a Hugging Face config file: a field of the wrong type, or a required one that is absent, fails
 * with the file and the field (dotted for nested objects) in the message.
 */
public final class JsonFields {
    private final Path file;
    private final String prefix;
    private final JsonObject json;

    private JsonFields(Path file, String prefix, JsonObject json) {
        this.file = file;
        this.prefix = prefix;
        this.json = json;
    }

    public static JsonFields read(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new EvaluationException(file + ": missing");
        }
        try {
            return new JsonFields(file, "", JsonParser.parseString(Files.readString(file)).getAsJsonObject());
        } catch (IOException | RuntimeException e) {
            throw new EvaluationException(file + ": not a JSON object: " + e.getMessage(), e);
        }
    }

    public Path file() {
        return file;
    }

    public JsonObject json() {
        return json;
    }

    public boolean has(String field) {
        return json.has(field) && !json.get(field).isJsonNull();
    }

    /** The nested object {@code field}, or an empty one when absent (every field then takes its default). */
    public JsonFields object(String field) {
        if (!has(field)) {
            return new JsonFields(file, prefix + field + ".", new JsonObject());
        }
        JsonElement e = json.get(field);
        if (!e.isJsonObject()) {
            throw error(field, "must be an object, got " + e);
        }
        return new JsonFields(file, prefix + field + ".", e.getAsJsonObject());
    }

    public JsonElement get(String field) {
        return has(field) ? json.get(field) : null;
    }

    public int intField(String field, int fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonElement e = json.get(field);
        try {
            double d = e.getAsDouble();
            if (d != Math.rint(d)) {
                throw new NumberFormatException();
            }
            return e.getAsInt();
        } catch (RuntimeException ex) {
            throw error(field, "must be an integer, got " + e);
        }
    }

    public int requiredInt(String field) {
        if (!has(field)) {
            throw error(field, "is required");
        }
        return intField(field, 0);
    }

    public double doubleField(String field, double fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonElement e = json.get(field);
        try {
            return e.getAsDouble();
        } catch (RuntimeException ex) {
            throw error(field, "must be a number, got " + e);
        }
    }

    public boolean boolField(String field, boolean fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonElement e = json.get(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isBoolean()) {
            throw error(field, "must be true or false, got " + e);
        }
        return e.getAsBoolean();
    }

    public String stringField(String field, String fallback) {
        if (!has(field)) {
            return fallback;
        }
        JsonElement e = json.get(field);
        if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isString()) {
            throw error(field, "must be a string, got " + e);
        }
        return e.getAsString();
    }

    /** A list of exactly {@code length} numbers. */
    public double[] requiredNumbers(String field, int length) {
        if (!has(field)) {
            throw error(field, "is required");
        }
        JsonElement e = json.get(field);
        if (!e.isJsonArray() || e.getAsJsonArray().size() != length) {
            throw error(field, "must be a list of " + length + " numbers, got " + e);
        }
        double[] out = new double[length];
        for (int i = 0; i < length; i++) {
            try {
                out[i] = e.getAsJsonArray().get(i).getAsDouble();
            } catch (RuntimeException ex) {
                throw error(field, "must be a list of " + length + " numbers, got " + e);
            }
        }
        return out;
    }

    public EvaluationException error(String field, String problem) {
        return new EvaluationException(file + ": field " + prefix + field + " " + problem);
    }
}
