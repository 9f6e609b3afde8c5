package dev.selectune.diffusion.golden;

import ai.djl.ndarray.NDArray;

import java.util.List;
import java.util.function.Supplier;

/**
 * How to verify one output entry of a golden case: the input entries the computation reads (so the report shows
 * them, and they count as covered), and the computation itself, which returns the Java result to compare with the
 * stored reference.
 *
 * @param entry  the output entry, e.g. {@code vae.encode.mean}
 * @param inputs the entries it consumes, e.g. {@code vae.encode.image}
 * @param actual computes the Java value (lazily, when the test runs)
 */
public record GoldenCheck(String entry, List<String> inputs, Supplier<NDArray> actual) {

    public static GoldenCheck of(String entry, List<String> inputs, Supplier<NDArray> actual) {
        return new GoldenCheck(entry, List.copyOf(inputs), actual);
    }

    /** The test name: {@code <case>/<entry>}, plus the consumed inputs after an arrow. */
    public String testName(String caseName) {
        return caseName + "/" + entry + (inputs.isEmpty() ? "" : " <- " + String.join(", ", inputs));
    }
}
