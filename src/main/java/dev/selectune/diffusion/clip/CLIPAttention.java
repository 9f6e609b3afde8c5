package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.AttentionKernel;
import dev.selectune.diffusion.nn.Kernels;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * {@code self_attn}: multi-head self-attention with biased q/k/v/out projections and an additive causal mask, as
 * transformers' CLIPAttention: libtorch's {@code scaled_dot_product_attention} with the mask through {@link Kernels}
 * when available, else the composition (queries scaled by head_dim^-0.5 before the product; the text is at most 77
 * tokens, so the score map is small and computed whole).
 */
public final class CLIPAttention {
    private final Linear qProj;
    private final Linear kProj;
    private final Linear vProj;
    private final Linear outProj;
    private final int heads;
    private final int headDim;
    private final float scale;

    private CLIPAttention(Linear q, Linear k, Linear v, Linear out, int heads, int headDim) {
        this.qProj = q;
        this.kProj = k;
        this.vProj = v;
        this.outProj = out;
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) Math.pow(headDim, -0.5);
    }

    public static CLIPAttention load(Weights w, CLIPTextConfig config) {
        long d = config.hiddenSize();
        return new CLIPAttention(Linear.load(w.child("q_proj"), d, d, true), Linear.load(w.child("k_proj"), d, d, true),
                Linear.load(w.child("v_proj"), d, d, true), Linear.load(w.child("out_proj"), d, d, true),
                config.numAttentionHeads(), config.headDim());
    }

    /**
     * @param x          (B, T, D)
     * @param causalMask (T, T) additive: 0 on and below the diagonal, a large negative number above it
     */
    public NDArray forward(NDArray x, NDArray causalMask) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        return Scopes.run(() -> {
            if (Kernels.fused(x)) {
                NDArray fused = Kernels.sdpa(AttentionKernel.splitHeads(qProj.forward(x), heads),
                        AttentionKernel.splitHeads(kProj.forward(x), heads),
                        AttentionKernel.splitHeads(vProj.forward(x), heads), causalMask, scale);
                if (fused != null) {
                    return outProj.forward(AttentionKernel.mergeHeads(fused));
                }
            }
            NDArray q = splitHeads(qProj.forward(x).mul(scale), b, t);
            NDArray k = splitHeads(kProj.forward(x), b, t);
            NDArray v = splitHeads(vProj.forward(x), b, t);
            NDArray scores = q.batchMatMul(k.transpose(0, 2, 1)).reshape(b, heads, t, t).add(causalMask);
            NDArray probs = scores.softmax(-1).reshape(b * heads, t, t);
            NDArray context = probs.batchMatMul(v).reshape(b, heads, t, headDim).transpose(0, 2, 1, 3)
                    .reshape(b, t, (long) heads * headDim);
            return outProj.forward(context);
        });
    }

    /** (B, T, H*hd) -> (B*H, T, hd) */
    private NDArray splitHeads(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3).reshape(b * heads, t, headDim);
    }
}
