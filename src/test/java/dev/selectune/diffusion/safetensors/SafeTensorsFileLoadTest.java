package dev.selectune.diffusion.safetensors;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * A loaded tensor owns its memory: it must not alias the file mapping (or a scratch buffer), which the GC unmaps
 * after the file is closed. Before the fix, F32 -> F32 loads aliased the mapping and this test died with SIGSEGV.
 */
class SafeTensorsFileLoadTest {
    @TempDir
    Path tmp;

    @Test
    void loadedTensorsSurviveClosingTheFileAndGarbageCollection() throws InterruptedException {
        Path file = tmp.resolve("w.safetensors");
        float[] values = new float[64 * 1024];
        for (int i = 0; i < values.length; i++) {
            values[i] = i * 0.5f;
        }
        try (NDManager m = NDManager.newBaseManager()) {
            new SafeTensorsWriter().put("w", m.create(values, new Shape(64, 1024)))
                    .put("h", m.create(values, new Shape(64, 1024)).toType(DataType.FLOAT16, false)).write(file);
            NDArray sameType;
            NDArray widened;
            try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
                sameType = f.load("w", m, DataType.FLOAT32);
                widened = f.load("h", m, DataType.FLOAT32);
            }
            for (int i = 0; i < 3; i++) {
                System.gc();
                Thread.sleep(50);
            }
            assertArrayEquals(values, sameType.toFloatArray());
            assertArrayEquals(values, widened.toFloatArray(), 64);
        }
    }
}
