package dev.selectune.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The golden cases in the test resources and the comparisons of REFERENCE.md. */
public final class GoldenTensors implements AutoCloseable {
    public static final Path ROOT = Path.of("src/test/resources/golden");

    private final Path caseDir;
    private final SafeTensorsFile file;
    private final NDManager manager;

    public GoldenTensors(String caseName, NDManager manager) {
        this.caseDir = ROOT.resolve(caseName);
        this.file = SafeTensorsFile.open(caseDir.resolve("golden.safetensors"));
        this.manager = manager;
    }

    public Path caseDir() {
        return caseDir;
    }

    public NDArray get(String key) {
        return file.load(key, manager, DataType.FLOAT32);
    }

    /** {@code max|actual - expected| <= relTol * max(floor, max|expected|)}. */
    public static void assertClose(String what, NDArray expected, NDArray actual, double relTol, double floor) {
        assertArrayEquals(expected.getShape().getShape(), actual.getShape().getShape(), what + ": shape");
        float[] e = expected.toType(DataType.FLOAT32, false).toFloatArray();
        float[] a = actual.toType(DataType.FLOAT32, false).toFloatArray();
        double maxDiff = 0;
        double maxRef = 0;
        for (int i = 0; i < e.length; i++) {
            maxDiff = Math.max(maxDiff, Math.abs(e[i] - a[i]));
            maxRef = Math.max(maxRef, Math.abs(e[i]));
        }
        double limit = relTol * Math.max(floor, maxRef);
        assertTrue(maxDiff <= limit, what + ": max abs diff " + maxDiff + " > " + limit);
    }

    /** The component tolerance: {@code 1e-4 * max(1, max|ref|)}. */
    public static void assertComponentClose(String what, NDArray expected, NDArray actual) {
        assertClose(what, expected, actual, 1e-4, 1);
    }

    @Override
    public void close() {
        file.close();
    }
}
