package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * Multi-head softmax(Q K^T * scale) V, as diffusers' {@code AttnProcessor2_0}.
 *
 * <p>{@link #attendHeads} calls libtorch's {@code scaled_dot_product_attention} through {@link Kernels} on
 * (B, heads, N, d) views: on the CPU that is the flash kernel, which never holds the whole score map and whose
 * backward keeps only the output and the log-sum-exp rather than every probability.
 *
 * <p>The fallback ({@link #attend}, over (batch*heads, tokens, head_dim)) is built from DJL's ops. Without
 * gradients, the scores are computed one head and one block of query rows at a time, each block at most
 * {@link #CACHE_BLOCK_BYTES}: a 64x64-latent self-attention (4096x4096 per head) then never exists whole, and a block
 * stays in the caches between the score product, the softmax and the product with V (with head_dim 40 to 160 both
 * products are memory-bound). Smaller blocks split each op too finely to use two threads; the size is measured in
 * docs/engine.md. With gradients the full map is computed, since autograd keeps every block's probabilities anyway.
 */
public final class AttentionKernel {
    /** Largest score block computed at once without gradients, sized for the L3 cache. */
    public static final long CACHE_BLOCK_BYTES = Long.getLong("selectune.attention.block-bytes", 16L << 20);

    private AttentionKernel() {
    }

    /**
     * @param q (B, N, heads*d)
     * @param k (B, M, heads*d)
     * @param v (B, M, heads*d)
     * @return (B, N, heads*d)
     */
    public static NDArray attendHeads(NDArray q, NDArray k, NDArray v, int heads, float scale) {
        if (Kernels.fused(q)) {
            NDArray fused = Scopes.run(() -> {
                NDArray out = Kernels.sdpa(splitHeads(q, heads), splitHeads(k, heads), splitHeads(v, heads), scale);
                return out == null ? null : mergeHeads(out);
            });
            if (fused != null) {
                return fused;
            }
        }
        return Scopes.run(() -> {
            long b = q.getShape().get(0);
            NDArray out = attend(flatHeads(q, heads), flatHeads(k, heads), flatHeads(v, heads), scale);
            long n = out.getShape().get(1);
            long d = out.getShape().get(2);
            return heads == 1 ? out : out.reshape(b, heads, n, d).transpose(0, 2, 1, 3).reshape(b, n, heads * d);
        });
    }

    /** (B, N, heads*d) -> a (B, heads, N, d) view. */
    public static NDArray splitHeads(NDArray t, int heads) {
        Shape s = t.getShape();
        return t.reshape(s.get(0), s.get(1), heads, s.get(2) / heads).transpose(0, 2, 1, 3);
    }

    /** (B, heads, N, d) -> (B, N, heads*d). */
    public static NDArray mergeHeads(NDArray t) {
        Shape s = t.getShape();
        return t.transpose(0, 2, 1, 3).reshape(s.get(0), s.get(2), s.get(1) * s.get(3));
    }

    /** (B, N, heads*d) -> (B*heads, N, d); the tensor itself when there is one head. */
    private static NDArray flatHeads(NDArray t, int heads) {
        if (heads == 1) {
            return t;
        }
        Shape s = t.getShape();
        return splitHeads(t, heads).reshape(s.get(0) * heads, s.get(1), s.get(2) / heads);
    }

    /**
     * The fallback kernel.
     *
     * @param q (BH, N, d)
     * @param k (BH, M, d)
     * @param v (BH, M, d)
     * @return (BH, N, d)
     */
    public static NDArray attend(NDArray q, NDArray k, NDArray v, float scale) {
        long bh = q.getShape().get(0);
        long n = q.getShape().get(1);
        long m = k.getShape().get(1);
        long bytesPerRow = m * q.getDataType().getNumOfBytes();
        long block = CACHE_BLOCK_BYTES;
        return Scopes.run(() -> {
            NDArray kt = k.transpose(0, 2, 1);
            if (Autograd.isEnabled() || bh * n * bytesPerRow <= block) {
                return block(q, kt, v, scale);
            }
            long rows = Math.max(1, block / bytesPerRow);
            NDList heads = new NDList();
            for (long h = 0; h < bh; h++) {
                NDIndex head = new NDIndex("{}:{}", h, h + 1);
                NDArray qh = q.get(head);
                NDArray kth = kt.get(head);
                NDArray vh = v.get(head);
                if (rows >= n) {
                    heads.add(block(qh, kth, vh, scale));
                    continue;
                }
                NDList parts = new NDList();
                for (long start = 0; start < n; start += rows) {
                    long end = Math.min(n, start + rows);
                    NDArray qc = qh.get(new NDIndex(":, {}:{}, :", start, end));
                    parts.add(block(qc, kth, vh, scale));
                    qc.close();
                }
                heads.add(ai.djl.ndarray.NDArrays.concat(parts, 1));
                parts.close();
            }
            NDArray joined = heads.size() == 1 ? heads.get(0).duplicate() : ai.djl.ndarray.NDArrays.concat(heads, 0);
            heads.close();
            return joined;
        });
    }

    private static NDArray block(NDArray q, NDArray kt, NDArray v, float scale) {
        return Scopes.run(() -> {
            NDArray scores = Scalars.mul(q, scale).batchMatMul(kt);
            NDArray probs = scores.softmax(-1);
            scores.close();
            return probs.batchMatMul(v);
        });
    }
}
