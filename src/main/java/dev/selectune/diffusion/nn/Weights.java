package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.TensorInfo;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeSet;

/**
 * The named tensors of one model component, read with the key names of diffusers' module paths.
 *
 * <p>Modules ask for their weights by the same dotted path diffusers uses ({@code child("down_blocks").child("0")
 * .get("conv1.weight", ...)}), with the shape their config implies. A missing or misshapen weight fails here, at
 * load, naming the file and key; {@link #requireAllUsed()} then fails on keys no module asked for (a block type or
 * option this code does not implement), so nothing is silently ignored.
 *
 * <p>A random source serves benchmarks and tests that need a full-size model without its checkpoint: it makes every
 * weight with the shape asked for (normal with std 1/sqrt(fan_in) for matrices and kernels, ones for 1-D
 * "weight"s, zeros for biases).
 */
public final class Weights implements AutoCloseable {
    private final Root root;
    private final String prefix;

    private Weights(Root root, String prefix) {
        this.root = root;
        this.prefix = prefix;
    }

    /**
     * Opens a component's weights: {@code <stem>.safetensors}, else {@code <stem>.fp16.safetensors}, else the
     * sharded {@code <stem>.safetensors.index.json}. Tensors are loaded as {@code dtype} into {@code manager}.
     */
    public static Weights open(Path componentDir, String stem, NDManager manager, DataType dtype) {
        return open(componentDir, stem, manager, Precision.of(dtype));
    }

    /**
     * As {@link #open(Path, String, NDManager, DataType)}, with matrices, kernels and embedding tables loaded as
     * {@code precision.held()}, one tensor at a time straight from the mapped file (an fp16 checkpoint held in fp16
     * never has an fp32 copy), and one-dimensional tensors as {@code precision.compute()}.
     */
    public static Weights open(Path componentDir, String stem, NDManager manager, Precision precision) {
        List<Path> candidates = List.of(componentDir.resolve(stem + ".safetensors"),
                componentDir.resolve(stem + ".fp16.safetensors"));
        for (Path p : candidates) {
            if (Files.isRegularFile(p)) {
                return new Weights(new Root(List.of(SafeTensorsFile.open(p)), manager, precision), "");
            }
        }
        Path index = componentDir.resolve(stem + ".safetensors.index.json");
        if (Files.isRegularFile(index)) {
            return new Weights(new Root(openShards(index), manager, precision), "");
        }
        throw new WeightsException(componentDir + ": no weights file (looked for " + stem + ".safetensors, "
                + stem + ".fp16.safetensors and " + stem + ".safetensors.index.json)");
    }

    public static Weights of(SafeTensorsFile file, NDManager manager, DataType dtype) {
        return new Weights(new Root(List.of(file), manager, Precision.of(dtype)), "");
    }

    /** Weights made on demand with the shapes the modules ask for (benchmarks of full-size configs). */
    public static Weights random(NDManager manager, DataType dtype) {
        return random(manager, Precision.of(dtype));
    }

    /** Random weights held as {@code precision} says (see {@link #open(Path, String, NDManager, Precision)}). */
    public static Weights random(NDManager manager, Precision precision) {
        return new Weights(new Root(List.of(), manager, precision), "");
    }

    private static List<SafeTensorsFile> openShards(Path index) {
        try {
            JsonObject root = JsonParser.parseString(Files.readString(index)).getAsJsonObject();
            TreeSet<String> files = new TreeSet<>();
            root.getAsJsonObject("weight_map").entrySet().forEach(e -> files.add(e.getValue().getAsString()));
            List<SafeTensorsFile> out = new ArrayList<>();
            for (String f : files) {
                out.add(SafeTensorsFile.open(index.resolveSibling(f)));
            }
            return out;
        } catch (IOException | RuntimeException e) {
            throw new WeightsException(index + ": unreadable shard index: " + e.getMessage());
        }
    }

    /** The weights under {@code name.} (a submodule). */
    public Weights child(String name) {
        return new Weights(root, prefix + name + ".");
    }

    public Weights child(int index) {
        return child(Integer.toString(index));
    }

    public NDManager manager() {
        return root.manager;
    }

    /** The dtype the model computes in (activations, LoRA adapters). */
    public DataType dtype() {
        return root.precision.compute();
    }

    public Precision precision() {
        return root.precision;
    }

    public boolean isRandom() {
        return root.files.isEmpty();
    }

    /** The full key of {@code name} under this submodule. */
    public String key(String name) {
        return prefix + name;
    }

    public boolean has(String name) {
        return isRandom() || root.find(prefix + name) != null;
    }

    /** Loads a weight that must exist with exactly {@code shape}. */
    public NDArray get(String name, long... shape) {
        String key = prefix + name;
        if (isRandom()) {
            root.used.add(key);
            NDArray made = MemoryFormat.kernel(randomWeight(name, shape, heldType(shape)));
            root.made.put(key, made);
            return made;
        }
        SafeTensorsFile file = root.find(key);
        if (file == null) {
            throw new WeightsException(root.describe() + ": missing weight '" + key + "' (expected shape "
                    + Arrays.toString(shape) + ")");
        }
        TensorInfo info = file.info(key);
        if (!Arrays.equals(info.shape(), shape)) {
            throw new WeightsException(file.path() + ": weight '" + key + "' has shape " + Arrays.toString(info.shape())
                    + " but the config needs " + Arrays.toString(shape));
        }
        root.used.add(key);
        // Convolution kernels (the only 4-d weights) are held in the layout the convolutions run in.
        return MemoryFormat.kernel(file.load(key, root.manager, heldType(shape)));
    }

    /** Matrices, kernels and tables as the held type; biases and norm scales as the compute type. */
    private DataType heldType(long[] shape) {
        return shape.length >= 2 ? root.precision.held() : root.precision.compute();
    }

    /**
     * The tensors a random source has made so far, by full key, in the order asked for: saved with
     * {@code SafeTensorsWriter}, they make a loadable checkpoint of any config (synthetic test pipelines).
     */
    public Map<String, NDArray> madeTensors() {
        return java.util.Collections.unmodifiableMap(root.made);
    }

    /** Fails when the files hold keys that no module asked for, which means an unsupported module or option. */
    public void requireAllUsed() {
        if (isRandom()) {
            return;
        }
        List<String> unused = new ArrayList<>();
        for (SafeTensorsFile f : root.files) {
            for (String k : f.tensors().keySet()) {
                if (!root.used.contains(k)) {
                    unused.add(k);
                }
            }
        }
        if (!unused.isEmpty()) {
            throw new WeightsException(root.describe() + ": " + unused.size() + " weight(s) not used by the model built"
                    + " from its config, so the config names a module this code does not build, e.g. '"
                    + unused.get(0) + "'" + (unused.size() > 1 ? " and '" + unused.get(unused.size() - 1) + "'" : ""));
        }
    }

    private NDArray randomWeight(String name, long[] shape, DataType type) {
        Shape s = new Shape(shape);
        NDManager m = root.manager;
        boolean bias = name.endsWith("bias");
        if (shape.length == 1) {
            return (bias ? m.zeros(s, type) : m.ones(s, type));
        }
        long fanIn = s.size() / shape[0];
        float std = (float) (1.0 / Math.sqrt(Math.max(1, fanIn)));
        if (name.contains("embedding")) {
            std = 0.02f;
        }
        if (type == root.precision.compute()) {
            return m.randomNormal(0f, std, s, type);
        }
        // Drawn in the compute type and rounded, as an fp32 checkpoint loaded into half precision would be.
        try (NDArray drawn = m.randomNormal(0f, std, s, root.precision.compute())) {
            return drawn.toType(type, true);
        }
    }

    @Override
    public void close() {
        if (prefix.isEmpty()) {
            root.files.forEach(SafeTensorsFile::close);
            // Loading freed a read buffer per tensor and the row-major original of every kernel held channels-last;
            // below malloc's mmap threshold those leave free pages inside the heap, which would stay resident.
            NativeAllocator.releaseFreeMemory();
        }
    }

    private static final class Root {
        final List<SafeTensorsFile> files;
        final NDManager manager;
        final Precision precision;
        final java.util.Set<String> used = new java.util.HashSet<>();
        final Map<String, SafeTensorsFile> index = new LinkedHashMap<>();
        final Map<String, NDArray> made = new LinkedHashMap<>();

        Root(List<SafeTensorsFile> files, NDManager manager, Precision precision) {
            this.files = files;
            this.manager = manager;
            this.precision = precision;
            for (SafeTensorsFile f : files) {
                for (String k : f.tensors().keySet()) {
                    index.put(k, f);
                }
            }
        }

        SafeTensorsFile find(String key) {
            return index.get(key);
        }

        String describe() {
            if (files.size() == 1) {
                return files.get(0).path().toString();
            }
            return files.isEmpty() ? "(random weights)" : files.get(0).path().getParent() + " (" + files.size() + " shards)";
        }
    }
}
