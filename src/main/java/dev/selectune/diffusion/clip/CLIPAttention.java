package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.AttentionKernel;
import dev.selectune.diffusion.nn.Kernels;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scalars;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * {@code self_attn}: multi-head self-attention with q/k/v/out projections and an optional additive mask (the text
 * encoder's causal one), as transformers' CLIPAttention (and ViTAttention, under other key names): libtorch's
 * {@code scaled_dot_product_attention} through {@link Kernels} when available, else the composition. Masked, the
 * composition computes the score map whole (queries scaled by head_dim^-0.5 before the product; the text is at most
 * 77 tokens); unmasked (image towers, hundreds of patches), it runs {@link AttentionKernel#attend}, which computes
 * the scores in cache-sized blocks.
 */
public final class CLIPAttention {
    private final Linear qProj;
    private final Linear kProj;
    private final Linear vProj;
    private final Linear outProj;
    private final int heads;
    private final int headDim;
    private final float scale;

    public CLIPAttention(Linear q, Linear k, Linear v, Linear out, int heads, int headDim) {
        this.qProj = q;
        this.kProj = k;
        this.vProj = v;
        this.outProj = out;
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) Math.pow(headDim, -0.5);
    }

    /** Biased projections under CLIP's key names ({@code q_proj}, {@code k_proj}, {@code v_proj}, {@code out_proj}). */
    public static CLIPAttention load(Weights w, EncoderLayerConfig config) {
        long d = config.hiddenSize();
        return new CLIPAttention(Linear.load(w.child("q_proj"), d, d, true), Linear.load(w.child("k_proj"), d, d, true),
                Linear.load(w.child("v_proj"), d, d, true), Linear.load(w.child("out_proj"), d, d, true),
                config.numAttentionHeads(), config.headDim());
    }

    /**
     * @param x    (B, T, D)
     * @param mask (T, T) additive (causal: 0 on and below the diagonal, a large negative number above it), or null
     */
    public NDArray forward(NDArray x, NDArray mask) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        return Scopes.run(() -> {
            if (Kernels.fused(x)) {
                NDArray q = AttentionKernel.splitHeads(qProj.forward(x), heads);
                NDArray k = AttentionKernel.splitHeads(kProj.forward(x), heads);
                NDArray v = AttentionKernel.splitHeads(vProj.forward(x), heads);
                NDArray fused = mask == null ? Kernels.sdpa(q, k, v, scale) : Kernels.sdpa(q, k, v, mask, scale);
                if (fused != null) {
                    return outProj.forward(AttentionKernel.mergeHeads(fused));
                }
            }
            if (mask == null) {
                NDArray context = AttentionKernel.attend(splitHeads(qProj.forward(x), b, t),
                        splitHeads(kProj.forward(x), b, t), splitHeads(vProj.forward(x), b, t), scale);
                return outProj.forward(context.reshape(b, heads, t, headDim).transpose(0, 2, 1, 3)
                        .reshape(b, t, (long) heads * headDim));
            }
            NDArray q = splitHeads(Scalars.mul(qProj.forward(x), scale), b, t);
            NDArray k = splitHeads(kProj.forward(x), b, t);
            NDArray v = splitHeads(vProj.forward(x), b, t);
            NDArray scores = q.batchMatMul(k.transpose(0, 2, 1)).reshape(b, heads, t, t).add(mask);
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
