package dev.selectune.diffusion.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.pipeline.PipelineFolder;

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
 * One golden case folder while its tests run: the {@link GoldenCase} (golden.json, golden.safetensors and the
 * manager that owns every tensor of the case), the pipeline folder (validated on open), and memoized results, so
 * that e.g. one VAE encode serves the {@code mean}, {@code logvar} and {@code std} checks and each model is loaded
 * once per case.
 */
public final class GoldenCaseRun implements AutoCloseable {
    private final GoldenCase golden;
    private final JsonObject entries;
    private final PipelineFolder folder;
    private final Map<String, Object> memo = new HashMap<>();
    private final Deque<AutoCloseable> owned = new ArrayDeque<>();

    private GoldenCaseRun(GoldenCase golden, PipelineFolder folder) {
        this.golden = golden;
        this.entries = golden.json().getAsJsonObject("entries");
        this.folder = folder;
    }

    /** Opens a case: fails (naming the file) when golden.json, golden.safetensors or the pipeline folder is broken. */
    public static GoldenCaseRun open(Path dir) {
        PipelineFolder folder = PipelineFolder.open(dir);
        GoldenCase golden = GoldenCase.load(dir);
        if (!golden.json().has("entries") || !golden.json().get("entries").isJsonObject()) {
            golden.close();
            throw new IllegalStateException(dir.resolve("golden.json") + ": no 'entries' object");
        }
        return new GoldenCaseRun(golden, folder);
    }

    public String name() {
        return golden.name();
    }

    public Path dir() {
        return golden.folder();
    }

    public PipelineFolder folder() {
        return folder;
    }

    public NDManager manager() {
        return golden.manager();
    }

    /** golden.json as a whole (prompts, pipeline_call, lora facts, ...). */
    public JsonObject json() {
        return golden.json();
    }

    /** Every entry named in golden.json or stored in golden.safetensors, sorted. */
    public Set<String> entryNames() {
        Set<String> names = new TreeSet<>(entries.keySet());
        names.addAll(golden.entryNames());
        return names;
    }

    public boolean has(String entry) {
        return golden.has(entry);
    }

    /** The golden.json description of an entry (the documentation of unseen entry kinds). */
    public JsonObject describe(String entry) {
        JsonElement e = entries.get(entry);
        return e != null && e.isJsonObject() ? e.getAsJsonObject() : new JsonObject();
    }

    /** A stored tensor, loaded once into the case's manager (FLOAT32 for float data, INT64 stays INT64). */
    public NDArray tensor(String entry) {
        return memo("tensor:" + entry, () -> golden.get(entry));
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
        return json().getAsJsonArray(member).asList().stream().map(JsonElement::getAsString).toList();
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
        golden.close();
    }
}
