package dev.selectune.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.nn.Autograd;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** MeZO on a small smooth loss L(A, B) = mean((tanh(X A^T) B^T - Y)^2). */
class MeZOTest {

    private static NDArray randn(NDManager m, SplittableRandom r, long... shape) {
        ai.djl.ndarray.types.Shape s = new ai.djl.ndarray.types.Shape(shape);
        float[] v = new float[Math.toIntExact(s.size())];
        for (int i = 0; i < v.length; i++) {
            v[i] = (float) r.nextGaussian();
        }
        return m.create(v, s);
    }

    private static NDArray loss(NDArray a, NDArray b, NDArray x, NDArray y) {
        return x.matMul(a.transpose()).tanh().matMul(b.transpose()).sub(y).square().mean();
    }

    @Test
    void projectedGradientMatchesTheBackpropDirectionalDerivative() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            SplittableRandom r = new SplittableRandom(5);
            NDArray a = randn(m, r, 3, 6).mul(0.5f);
            NDArray b = randn(m, r, 2, 3).mul(0.5f);
            NDArray x = randn(m, r, 10, 6);
            NDArray y = randn(m, r, 10, 2);
            List<NDArray> params = List.of(a, b);

            // True gradient by backprop.
            a.setRequiresGradient(true);
            b.setRequiresGradient(true);
            Autograd.withGrad(() -> {
                Autograd.backward(loss(a, b, x, y));
                return null;
            });
            float[] ga = Autograd.gradientOrNull(a).toFloatArray();
            float[] gb = Autograd.gradientOrNull(b).toFloatArray();

            for (long seed : new long[] {1, 2, 3, 4, 5}) {
                List<float[]> z = noise(params, seed);
                double directional = dot(ga, z.get(0)) + dot(gb, z.get(1));
                // A one-perturbation step with a tiny epsilon and a learning rate small enough not to matter.
                MeZO mezo = new MeZO(1e-3, 1e-12, 1);
                MeZO.Result res = mezo.step(params, () -> seed,
                        () -> loss(a, b, x, y).getFloat(), () -> { });
                double estimate = res.projectedGradients()[0];
                assertEquals(Math.signum(directional), Math.signum(estimate), "sign, seed " + seed);
                assertEquals(directional, estimate, 0.02 * Math.abs(directional) + 1e-3, "scale, seed " + seed);
            }
        }
    }

    @Test
    void stepCostsTwoForwardsPerPerturbationAndMovesAgainstTheEstimate() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            SplittableRandom r = new SplittableRandom(9);
            NDArray a = randn(m, r, 3, 6).mul(0.5f);
            NDArray b = randn(m, r, 2, 3).mul(0.5f);
            NDArray x = randn(m, r, 10, 6);
            NDArray y = randn(m, r, 10, 2);
            float[] a0 = a.toFloatArray();
            float[] b0 = b.toFloatArray();
            AtomicInteger forwards = new AtomicInteger();
            AtomicInteger syncs = new AtomicInteger();
            MeZO mezo = new MeZO(1e-3, 0.05, 4);
            long[] seeds = {11, 12, 13, 14};
            AtomicInteger next = new AtomicInteger();
            MeZO.Result res = mezo.step(List.of(a, b), () -> seeds[next.getAndIncrement()], () -> {
                forwards.incrementAndGet();
                return loss(a, b, x, y).getFloat();
            }, syncs::incrementAndGet);
            assertEquals(8, forwards.get(), "2N forwards, no more");
            assertEquals(8, res.forwards());
            assertEquals(3 * 4 + 4, syncs.get(), "working copies re-synced after every in-place edit");

            // theta_new = theta_0 - lr / N * sum g_n z_n (up to the float rounding of +eps, -2eps, +eps).
            double[] wantA = new double[a0.length];
            double[] wantB = new double[b0.length];
            for (int j = 0; j < a0.length; j++) {
                wantA[j] = a0[j];
            }
            for (int j = 0; j < b0.length; j++) {
                wantB[j] = b0[j];
            }
            for (int n = 0; n < 4; n++) {
                List<float[]> z = noise(List.of(a, b), seeds[n]);
                for (int j = 0; j < a0.length; j++) {
                    wantA[j] -= 0.05 / 4 * res.projectedGradients()[n] * z.get(0)[j];
                }
                for (int j = 0; j < b0.length; j++) {
                    wantB[j] -= 0.05 / 4 * res.projectedGradients()[n] * z.get(1)[j];
                }
            }
            assertArrayEquals(toFloat(wantA), a.toFloatArray(), 1e-5f);
            assertArrayEquals(toFloat(wantB), b.toFloatArray(), 1e-5f);
            assertTrue(loss(a, b, x, y).getFloat() < lossAt(m, a0, b0, x, y), "one step descends on a smooth loss");
        }
    }

    private static float lossAt(NDManager m, float[] a0, float[] b0, NDArray x, NDArray y) {
        return loss(m.create(a0, new ai.djl.ndarray.types.Shape(3, 6)), m.create(b0, new ai.djl.ndarray.types.Shape(2, 3)),
                x, y).getFloat();
    }

    private static float[] toFloat(double[] d) {
        float[] f = new float[d.length];
        for (int i = 0; i < d.length; i++) {
            f[i] = (float) d[i];
        }
        return f;
    }

    private static double dot(float[] a, float[] b) {
        double s = 0;
        for (int i = 0; i < a.length; i++) {
            s += (double) a[i] * b[i];
        }
        return s;
    }

    /** z(seed) as MeZO draws it: one generator per seed, standard normals parameter by parameter, element by element. */
    private static List<float[]> noise(List<NDArray> params, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        List<float[]> out = new java.util.ArrayList<>();
        for (NDArray p : params) {
            float[] z = new float[Math.toIntExact(p.size())];
            for (int i = 0; i < z.length; i++) {
                z[i] = (float) random.nextGaussian();
            }
            out.add(z);
        }
        return out;
    }
}
