package dev.selectune.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.TreeSet;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * One golden case folder (a tiny diffusers pipeline plus {@code golden.safetensors} and {@code golden.json}), as
 * described in {@code src/test/resources/golden/REFERENCE.md}.
 *
 * <p>Entries load into a manager the case owns, so closing the case frees them. Comparisons follow the reference's
 * rule, tensor by tensor in fp32: {@code max|actual - expected| <= tol}, where the component tolerance is
 * {@code 1e-4 * max(1, max|expected|)}.
 */
public final class GoldenCase implements AutoCloseable {
    /** Component tolerance factor of REFERENCE.md (text, unet, vae, schedulers, lora.out). */
    public static final double COMPONENT = 1e-4;
    /** Pipeline tolerance factor (pipe.latents_out, pipe.image*). */
    public static final double PIPELINE = 1e-3;
    /** With {@code -Dgolden.report=true} every comparison prints its max difference and tolerance (for reports). */
    private static final boolean REPORT = Boolean.getBoolean("golden.report");

    private final Path folder;
    private final JsonObject json;
    private final SafeTensorsFile tensors;
    private final NDManager manager;

    private GoldenCase(Path folder, JsonObject json, SafeTensorsFile tensors, NDManager manager) {
        this.folder = folder;
        this.json = json;
        this.tensors = tensors;
        this.manager = manager;
    }

    /** Opens a case folder; fails naming the folder when its golden files are missing or unreadable. */
    public static GoldenCase load(Path folder) {
        Path jsonFile = folder.resolve("golden.json");
        Path tensorFile = folder.resolve("golden.safetensors");
        if (!Files.isRegularFile(jsonFile) || !Files.isRegularFile(tensorFile)) {
            throw new IllegalArgumentException(folder + ": not a golden case (needs golden.json and golden.safetensors)");
        }
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(jsonFile)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(jsonFile + ": unreadable", e);
        }
        return new GoldenCase(folder, json, SafeTensorsFile.open(tensorFile), NDManager.newBaseManager());
    }

    /** The case folders shipped as test resources ({@code /golden/<name>} on the test classpath). */
    public static Path resource(String name) {
        URL url = GoldenCase.class.getResource("/golden/" + name);
        if (url == null) {
            throw new IllegalArgumentException("no test resource /golden/" + name);
        }
        try {
            return Path.of(url.toURI());
        } catch (URISyntaxException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Every case folder under the test resources' {@code /golden} (folders holding a golden.json), by name. */
    public static List<Path> bundledCases() {
        Path root = resource("").normalize();
        List<Path> out = new ArrayList<>();
        try (var stream = Files.list(root)) {
            stream.filter(p -> Files.isRegularFile(p.resolve("golden.json"))).sorted().forEach(out::add);
        } catch (IOException e) {
            throw new UncheckedIOException(root + ": unreadable", e);
        }
        return out;
    }

    public Path folder() {
        return folder;
    }

    /** The case's name: its folder name, e.g. {@code tiny-sd15}. */
    public String name() {
        return folder.getFileName().toString();
    }

    public JsonObject json() {
        return json;
    }

    public NDManager manager() {
        return manager;
    }

    /** The names of all entries in golden.safetensors. */
    public Set<String> entryNames() {
        return new TreeSet<>(tensors.tensors().keySet());
    }

    public boolean has(String entry) {
        return tensors.contains(entry);
    }

    /** golden.json's description of one entry (shape, dtype, description, stats, values). */
    public JsonObject entryInfo(String entry) {
        JsonElement e = json.getAsJsonObject("entries").get(entry);
        if (e == null) {
            throw new IllegalArgumentException(folder + "/golden.json: no entry '" + entry + "'");
        }
        return e.getAsJsonObject();
    }

    /** An entry as a tensor in the case's manager: F32 stays FLOAT32, I64 stays INT64. */
    public NDArray get(String entry) {
        if (!tensors.contains(entry)) {
            throw new IllegalArgumentException(folder + "/golden.safetensors: no entry '" + entry + "'");
        }
        return tensors.load(entry, manager, DataType.FLOAT32);
    }

    /** An I64 entry's values, flattened. */
    public long[] longs(String entry) {
        try (NDArray a = get(entry)) {
            return a.toLongArray();
        }
    }

    /** An F32 entry's values, flattened. */
    public float[] floats(String entry) {
        try (NDArray a = get(entry)) {
            return a.toType(DataType.FLOAT32, false).toFloatArray();
        }
    }

    /** Asserts {@code actual} matches the entry within the component tolerance {@code 1e-4 * max(1, max|ref|)}. */
    public void assertComponent(String entry, NDArray actual) {
        try (NDArray expected = get(entry)) {
            assertClose(entry, actual, expected, tolerance(COMPONENT, expected));
        }
    }

    /** {@code factor * max(1, max|expected|)}: the reference's relative-to-scale tolerance. */
    public static double tolerance(double factor, NDArray expected) {
        return factor * Math.max(1.0, maxAbs(expected.toType(DataType.FLOAT32, false).toFloatArray()));
    }

    /** Asserts equal shapes and {@code max|actual - expected| <= tol}, reporting the worst element. */
    public static void assertClose(String name, NDArray actual, NDArray expected, double tol) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), name + ": shape");
        assertClose(name, actual.toType(DataType.FLOAT32, false).toFloatArray(),
                expected.toType(DataType.FLOAT32, false).toFloatArray(), tol);
    }

    /** As {@link #assertClose(String, NDArray, NDArray, double)} on flat arrays. */
    public static void assertClose(String name, float[] actual, float[] expected, double tol) {
        if (actual.length != expected.length) {
            fail(name + ": " + actual.length + " values, expected " + expected.length);
        }
        double worst = 0;
        int at = -1;
        for (int i = 0; i < actual.length; i++) {
            double d = Math.abs((double) actual[i] - expected[i]);
            if (!(d <= worst)) { // NaN counts as worst
                worst = d;
                at = i;
            }
        }
        if (REPORT) {
            System.out.printf("golden %-50s max|diff| %.3e  tolerance %.3e%n", name, worst, tol);
        }
        if (at >= 0 && !(worst <= tol)) {
            fail(String.format("%s: max|actual - expected| = %.3g > tolerance %.3g at flat index %d (actual %s, expected %s)",
                    name, worst, tol, at, actual[at], expected[at]));
        }
    }

    public static double maxAbs(float[] values) {
        double m = 0;
        for (float v : values) {
            m = Math.max(m, Math.abs(v));
        }
        return m;
    }

    @Override
    public void close() {
        manager.close();
        tensors.close();
    }
}
