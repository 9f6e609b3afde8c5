package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;

/**
 * softmax(Q K^T * scale) V over (batch*heads, tokens, head_dim) tensors, as diffusers' classic AttnProcessor.
 *
 * <p>There is no fused attention in DJL. Without gradients, the queries are split into chunks so that one chunk's
 * score matrix fits {@link #budgetBytes()}: a 64x64-latent self-attention (4096x4096 per head) then never exists
 * whole. With gradients the full map is computed, since autograd keeps every chunk's probabilities anyway.
 */
public final class AttentionKernel {
    /** Default byte budget of one chunk of scores (64 MiB). */
    public static final long DEFAULT_BUDGET = 64L << 20;
    private static volatile long budgetBytes = Long.getLong("selectune.attention.chunk-bytes", DEFAULT_BUDGET);

    private AttentionKernel() {
    }

    public static long budgetBytes() {
        return budgetBytes;
    }

    /** Sets the per-chunk score budget for forwards without gradients (process-wide). */
    public static void setBudgetBytes(long bytes) {
        if (bytes < 1024) {
            throw new IllegalArgumentException("attention chunk budget must be at least 1 KiB, got " + bytes);
        }
        budgetBytes = bytes;
    }

    /**
     * @param q (BH, N, d)
     * @param k (BH, M, d)
     * @param v (BH, M, d)
     * @return (BH, N, d)
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, float scale) {
        long bh = q.getShape().get(0);
        long n = q.getShape().get(1);
        long m = k.getShape().get(1);
        long bytesPerRow = bh * m * q.getDataType().getNumOfBytes();
        long rows = Math.max(1, budgetBytes / Math.max(1, bytesPerRow));
        return Scopes.run(() -> {
            NDArray kt = k.transpose(0, 2, 1);
            if (Autograd.isEnabled() || rows >= n) {
                return block(q, kt, v, scale);
            }
            NDList parts = new NDList();
            for (long start = 0; start < n; start += rows) {
                long end = Math.min(n, start + rows);
                NDArray qc = q.get(new NDIndex(":, {}:{}, :", start, end));
                NDArray out = block(qc, kt, v, scale);
                qc.close();
                parts.add(out);
            }
            NDArray joined = NDArrays.concat(parts, 1);
            parts.close();
            return joined;
        });
    }

    private static NDArray block(NDArray q, NDArray kt, NDArray v, float scale) {
        return Scopes.run(() -> {
            NDArray scores = q.mul(scale).batchMatMul(kt);
            NDArray probs = scores.softmax(-1);
            scores.close();
            return probs.batchMatMul(v);
        });
    }

    private static final class NDArrays {
        static NDArray concat(NDList parts, int axis) {
            return parts.size() == 1 ? parts.get(0).duplicate() : ai.djl.ndarray.NDArrays.concat(parts, axis);
        }
    }
}
