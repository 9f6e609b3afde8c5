package dev.selectune.diffusion.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.function.Supplier;

/**
 * One golden case folder while its tests run: {@code golden.json}, {@code golden.safetensors}, the pipeline folder
 * (validated on open), a manager for every tensor of the case, and memoized results, so that e.g. one VAE encode
 * serves the {@code mean}, {@code logvar} and {@code std} checks and each model is loaded once per case.
 */
public final class GoldenCaseRun implements AutoCloseable {
    private final Path dir;
    private final JsonObject json;
    private final JsonObject entries;
    private final SafeTensorsFile tensors;
    private final PipelineFolder folder;
    private final NDManager manager;
    private final Map<String, Object> memo = new HashMap<>();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    private GoldenCaseRun(Path dir, JsonObject json, SafeTensorsFile tensors, PipelineFolder folder) {
        this.dir = dir;
        this.json = json;
        this.entries = json.getAsJsonObject("entries");
        this.tensors = tensors;
        this.folder = folder;
        this.manager = NDManager.newBaseManager();
    }

    /** Opens a case: fails (naming the file) when golden.json, golden.safetensors or the pipeline folder is broken. */
    public static GoldenCaseRun open(Path dir) {
        Path jsonFile = dir.resolve("golden.json");
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(jsonFile)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new IllegalStateException(jsonFile + ": unreadable: " + e, e);
        }
        if (!json.has("entries") || !json.get("entries").isJsonObject()) {
            throw new IllegalStateException(jsonFile + ": no 'entries' object");
        }
        PipelineFolder folder = PipelineFolder.open(dir);
        SafeTensorsFile tensors = SafeTensorsFile.open(dir.resolve("golden.safetensors"));
        return new GoldenCaseRun(dir, json, tensors, folder);
    }

    public String name() {
        return dir.getFileName().toString();
    }

    public Path dir() {
        return dir;
    }

    public PipelineFolder folder() {
        return folder;
    }

    public NDManager manager() {
        return manager;
    }

    /** golden.json as a whole (prompts, pipeline_call, lora facts, ...). */
    public JsonObject json() {
        return json;
    }

    /** Every entry named in golden.json or stored in golden.safetensors, sorted. */
    public Set<String> entryNames() {
        Set<String> names = new TreeSet<>(entries.keySet());
        names.addAll(tensors.tensors().keySet());
        return names;
    }

    public boolean has(String entry) {
        return tensors.contains(entry);
    }

    /** The golden.json description of an entry (the documentation of unseen entry kinds). */
    public JsonObject describe(String entry) {
        JsonElement e = entries.get(entry);
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    /** A stored tensor, loaded once into the case's manager (FLOAT32 for float data, INT64 stays INT64). */
    public NDArray tensor(String entry) {
        return memo("tensor:" + entry, () -> {
            if (!tensors.contains(entry)) {
                throw new IllegalStateException(dir.resolve("golden.safetensors") + ": no entry '" + entry + "'");
            }
            return tensors.load(entry, manager, DataType.FLOAT32);
        });
    }

    /** Computes a value once per case; later checks get the same object. */
    @SuppressWarnings("unchecked")
    public <T> T memo(String key, Supplier<T> compute) {
        Object v = memo.get(key);
        if (v == null) {
            v = compute.get();
            memo.put(key, v);
        }
        return (T) v;
    }

    /** Keeps a loaded model (or anything closable) alive until the case closes. */
    public <T extends AutoCloseable> T own(T resource) {
        owned.push(resource);
        return resource;
    }

    public List<String> stringList(String member) {
        return json.getAsJsonArray(member).asList().stream().map(JsonElement::getAsString).toList();
    }

    @Override
    public void close() {
        while (!owned.isEmpty()) {
            try {
                owned.pop().close();
            } catch (Exception e) {
                throw new IllegalStateException(name() + ": closing " + e, e);
            }
        }
        manager.close();
        tensors.close();
    }
}
