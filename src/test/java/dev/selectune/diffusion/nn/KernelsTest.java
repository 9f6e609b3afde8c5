package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The fused kernels (a TorchScript module written and loaded at run time) agree with the NDArray compositions they
 * replace, in values and in gradients, and autograd flows through them into leaves that require a gradient.
 */
class KernelsTest {
    @Test
    void scaledDotProductAttentionMatchesSoftmaxCompositionWithGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(1);
            NDArray q = m.randomNormal(new Shape(2, 3, 70, 16));
            NDArray k = m.randomNormal(new Shape(2, 3, 50, 16));
            NDArray v = m.randomNormal(new Shape(2, 3, 50, 16));
            NDArray up = m.randomNormal(new Shape(2, 3, 70, 16));
            float scale = 0.25f;
            NDArray[] fused = attentionWithGradients(q, k, v, up, () -> Kernels.sdpa(q, k, v, scale));
            NDArray[] plain = attentionWithGradients(q, k, v, up,
                    () -> Scalars.mul(q, scale).matMul(k.transpose(0, 1, 3, 2)).softmax(-1).matMul(v));
            for (int i = 0; i < 4; i++) {
                assertClose(plain[i], fused[i], 1e-5, "output and gradients, #" + i);
            }
        }
    }

    @Test
    void multiHeadAttentionAgreesWithTheChunkedFallback() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(2, 64, 5 * 8));
            NDArray k = m.randomNormal(new Shape(2, 9, 5 * 8));
            NDArray v = m.randomNormal(new Shape(2, 9, 5 * 8));
            NDArray up = m.randomNormal(new Shape(2, 64, 5 * 8));
            for (int heads : new int[] {1, 5}) {
                NDArray[] fused = withMode(Kernels.Mode.FUSED, () -> attentionWithGradients(q, k, v, up,
                        () -> AttentionKernel.attendHeads(q, k, v, heads, 0.3f)));
                NDArray[] plain = withMode(Kernels.Mode.FALLBACK, () -> attentionWithGradients(q, k, v, up,
                        () -> AttentionKernel.attendHeads(q, k, v, heads, 0.3f)));
                for (int i = 0; i < 4; i++) {
                    assertClose(plain[i], fused[i], 1e-5, heads + " heads, output and gradients #" + i);
                }
            }
        }
    }

    @Test
    void maskedAttentionMatchesAdditiveMask() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(1, 2, 7, 8));
            NDArray k = m.randomNormal(new Shape(1, 2, 7, 8));
            NDArray v = m.randomNormal(new Shape(1, 2, 7, 8));
            float[] mask = new float[49];
            for (int i = 0; i < 7; i++) {
                for (int j = i + 1; j < 7; j++) {
                    mask[i * 7 + j] = -Float.MAX_VALUE;
                }
            }
            NDArray maskArray = m.create(mask, new Shape(7, 7));
            NDArray fused = Autograd.noGrad(() -> Kernels.sdpa(q, k, v, maskArray, 0.5f));
            NDArray plain = Scalars.mul(q, 0.5f).matMul(k.transpose(0, 1, 3, 2)).add(maskArray).softmax(-1).matMul(v);
            assertClose(plain, fused, 1e-5, "causal attention");
        }
    }

    @Test
    void groupNormAndSiluMatchTheFallbackWithGradients() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 12, 5, 6)).mul(3).add(1);
            NDArray w = m.randomNormal(new Shape(12));
            NDArray b = m.randomNormal(new Shape(12));
            NDArray up = m.randomNormal(new Shape(2, 12, 5, 6));
            GroupNorm norm = new GroupNorm(4, 12, 1e-5f, w, b);
            assertNotNull(Autograd.noGrad(() -> Kernels.groupNorm(x, 4, w, b, 1e-5f, true)), "fused group norm ran");
            for (boolean silu : new boolean[] {false, true}) {
                NDArray[] fused = withMode(Kernels.Mode.FUSED, () -> normWithGradient(norm, x, up, silu));
                NDArray[] plain = withMode(Kernels.Mode.FALLBACK, () -> normWithGradient(norm, x, up, silu));
                assertClose(plain[0], fused[0], 1e-5, "group norm, silu " + silu);
                assertClose(plain[1], fused[1], 1e-4, "gradient, silu " + silu);
            }
        }
    }

    @Test
    void halfPrecisionRunsOnTheCpu() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray q = m.randomNormal(new Shape(1, 2, 40, 16));
            NDArray x = m.randomNormal(new Shape(1, 8, 4, 4));
            NDArray w = m.ones(new Shape(8));
            NDArray b = m.zeros(new Shape(8));
            NDArray full = Autograd.noGrad(() -> Kernels.sdpa(q, q, q, 0.25f));
            NDArray half = Autograd.noGrad(() -> Kernels.sdpa(q.toType(DataType.FLOAT16, false),
                    q.toType(DataType.FLOAT16, false), q.toType(DataType.FLOAT16, false), 0.25f));
            assertNotNull(half, "fp16 attention on the CPU");
            assertEquals(DataType.FLOAT16, half.getDataType());
            assertClose(full, half.toType(DataType.FLOAT32, false), 1e-2, "fp16 attention");
            NDArray normFull = Autograd.noGrad(() -> Kernels.groupNorm(x, 2, w, b, 1e-5f, true));
            NDArray xh = x.toType(DataType.FLOAT16, false);
            NDArray normHalf = Autograd.noGrad(() -> Kernels.groupNorm(xh, 2, w.toType(DataType.FLOAT16, false),
                    b.toType(DataType.FLOAT16, false), 1e-5f, true));
            assertNotNull(normHalf, "fp16 group norm on the CPU");
            assertClose(normFull, normHalf.toType(DataType.FLOAT32, false), 1e-2, "fp16 group norm");
        }
    }

    @Test
    void modeNamesAreStrict() {
        assertEquals(Kernels.Mode.FUSED, Kernels.Mode.parse(" Fused"));
        assertEquals(Kernels.Mode.FALLBACK, Kernels.Mode.parse("fallback"));
        assertThrows(IllegalArgumentException.class, () -> Kernels.Mode.parse("fast"));
    }

    private static NDArray[] attentionWithGradients(NDArray q, NDArray k, NDArray v, NDArray up,
                                                    java.util.function.Supplier<NDArray> attention) {
        NDArray[] leaves = {q, k, v};
        for (NDArray a : leaves) {
            a.setRequiresGradient(true);
        }
        NDArray out = Autograd.withGrad(() -> {
            NDArray o = attention.get();
            Autograd.backward(o.mul(up).sum());
            return o;
        });
        NDArray[] result = {out.duplicate(), Autograd.gradientOrNull(q).duplicate(),
                Autograd.gradientOrNull(k).duplicate(), Autograd.gradientOrNull(v).duplicate()};
        for (NDArray a : leaves) {
            Autograd.zeroGradient(a);
            a.setRequiresGradient(false);
        }
        return result;
    }

    private static NDArray[] normWithGradient(GroupNorm norm, NDArray x, NDArray up, boolean silu) {
        x.setRequiresGradient(true);
        NDArray out = Autograd.withGrad(() -> {
            NDArray o = silu ? norm.forwardSilu(x) : norm.forward(x);
            Autograd.backward(o.mul(up).sum());
            return o;
        });
        NDArray[] result = {out.duplicate(), Autograd.gradientOrNull(x).duplicate()};
        Autograd.zeroGradient(x);
        x.setRequiresGradient(false);
        return result;
    }

    private static <T> T withMode(Kernels.Mode mode, java.util.function.Supplier<T> body) {
        Kernels.Mode previous = Kernels.mode();
        Kernels.setMode(mode);
        try {
            return body.get();
        } finally {
            Kernels.setMode(previous);
        }
    }

    static void assertClose(NDArray expected, NDArray actual, double tol, String what) {
        assertNotNull(actual, what + ": the fused kernel did not run");
        assertEquals(expected.getShape(), actual.getShape(), what + ": shape");
        float[] e = expected.toFloatArray();
        float[] a = actual.toFloatArray();
        double worst = 0;
        for (int i = 0; i < e.length; i++) {
            worst = Math.max(worst, Math.abs(e[i] - a[i]));
        }
        assertTrue(worst <= tol, what + ": max |diff| " + worst + " > " + tol);
    }
}
