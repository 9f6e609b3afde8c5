package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import java.util.Arrays;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;

/**
 * The saved factor of a product with a constant must survive garbage collection between forward and backward
 * (with DJL's {@code mul(Number)} it lives in a Java buffer that the GC frees, and the gradient reads garbage).
 */
class ScalarsTest {
    @Test
    void gradientOfAProductWithAConstantSurvivesGarbageCollection() throws InterruptedException {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(64, 1024));
            x.setRequiresGradient(true);
            NDArray loss = Autograd.withGrad(() -> Scalars.div(Scalars.mul(x, 3f), 2f).sum());
            for (int i = 0; i < 3; i++) {
                byte[][] churn = new byte[64][];
                for (int j = 0; j < churn.length; j++) {
                    churn[j] = new byte[1 << 16];
                }
                System.gc();
                Thread.sleep(20);
            }
            Autograd.backward(loss);
            float[] expected = new float[64 * 1024];
            Arrays.fill(expected, 1.5f);
            assertArrayEquals(expected, Autograd.gradientOrNull(x).toFloatArray());
        }
    }
}
