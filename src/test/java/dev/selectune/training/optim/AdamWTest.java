package dev.selectune.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class AdamWTest {

    /** Three steps against the update written out in doubles (torch.optim.AdamW's algorithm). */
    @Test
    void matchesTheAlgorithmWithBiasCorrectionAndDecoupledDecay() {
        double lr = 0.1;
        double b1 = 0.9;
        double b2 = 0.99;
        double eps = 1e-8;
        double wd = 0.05;
        double[] p = {1.0, -2.0, 0.5};
        double[][] grads = {{0.3, -0.1, 2.0}, {-0.2, 0.4, 1.0}, {0.1, 0.1, -3.0}};
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray param = m.create(new float[] {1f, -2f, 0.5f});
            AdamW adam = new AdamW(List.of(param), m, lr, b1, b2, eps, wd);
            double[] mom = new double[3];
            double[] vel = new double[3];
            for (int s = 1; s <= 3; s++) {
                float[] g = new float[3];
                for (int j = 0; j < 3; j++) {
                    g[j] = (float) grads[s - 1][j];
                    p[j] *= 1 - lr * wd;
                    mom[j] = b1 * mom[j] + (1 - b1) * g[j];
                    vel[j] = b2 * vel[j] + (1 - b2) * g[j] * g[j];
                    double mHat = mom[j] / (1 - Math.pow(b1, s));
                    double vHat = vel[j] / (1 - Math.pow(b2, s));
                    p[j] -= lr * mHat / (Math.sqrt(vHat) + eps);
                }
                adam.step(List.of(m.create(g)));
            }
            float[] got = param.toFloatArray();
            for (int j = 0; j < 3; j++) {
                assertEquals(p[j], got[j], 1e-5, "parameter " + j);
            }
            assertEquals(3, adam.stepCount());
        }
    }

    @Test
    void globalNormClippingScalesAllGradientsTogether() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            NDArray a = m.create(new float[] {3f, 0f});
            NDArray b = m.create(new float[] {0f, 4f});
            double norm = GradientClipping.clipByGlobalNorm(List.of(a, b), 1.0);
            assertEquals(5.0, norm, 1e-6);
            assertArrayEquals(new float[] {0.6f, 0f}, a.toFloatArray(), 1e-6f);
            assertArrayEquals(new float[] {0f, 0.8f}, b.toFloatArray(), 1e-6f);
            GradientClipping.clipByGlobalNorm(List.of(a, b), 10.0);
            assertArrayEquals(new float[] {0.6f, 0f}, a.toFloatArray(), 1e-6f, "below the bound: untouched");
        }
    }
}
