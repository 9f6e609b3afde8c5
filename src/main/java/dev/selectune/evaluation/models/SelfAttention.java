package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.AttentionKernel;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * Unmasked multi-head self-attention of an image tower: q/k/v projections, softmax(q k^T / sqrt(head_dim)) v through
 * the shared {@link AttentionKernel}, and the output projection. CLIP ({@code self_attn.q_proj ... out_proj}) and
 * ViT ({@code attention.attention.query ...}, {@code attention.output.dense}) differ only in their key names.
 */
public final class SelfAttention {
    private final Linear query;
    private final Linear key;
    private final Linear value;
    private final Linear output;
    private final int heads;
    private final int headDim;

    private SelfAttention(Linear query, Linear key, Linear value, Linear output, int heads, int headDim) {
        this.query = query;
        this.key = key;
        this.value = value;
        this.output = output;
        this.heads = heads;
        this.headDim = headDim;
    }

    /** transformers' CLIPAttention under {@code self_attn}. */
    public static SelfAttention loadClip(Weights w, VisionConfig c) {
        long d = c.hiddenSize();
        return new SelfAttention(Linear.load(w.child("q_proj"), d, d, true), Linear.load(w.child("k_proj"), d, d, true),
                Linear.load(w.child("v_proj"), d, d, true), Linear.load(w.child("out_proj"), d, d, true),
                c.numAttentionHeads(), c.headDim());
    }

    /** transformers' ViTAttention under {@code attention}: ViTSelfAttention and ViTSelfOutput. */
    public static SelfAttention loadVit(Weights w, VisionConfig c) {
        long d = c.hiddenSize();
        Weights self = w.child("attention");
        return new SelfAttention(Linear.load(self.child("query"), d, d, c.qkvBias()),
                Linear.load(self.child("key"), d, d, c.qkvBias()), Linear.load(self.child("value"), d, d, c.qkvBias()),
                Linear.load(w.child("output").child("dense"), d, d, true), c.numAttentionHeads(), c.headDim());
    }

    /** @param x (B, T, D) */
    public NDArray forward(NDArray x) {
        long b = x.getShape().get(0);
        long t = x.getShape().get(1);
        return Scopes.run(() -> {
            NDArray q = splitHeads(query.forward(x), b, t);
            NDArray k = splitHeads(key.forward(x), b, t);
            NDArray v = splitHeads(value.forward(x), b, t);
            NDArray context = AttentionKernel.attend(q, k, v, (float) Math.pow(headDim, -0.5));
            return output.forward(context.reshape(b, heads, t, headDim).transpose(0, 2, 1, 3)
                    .reshape(b, t, (long) heads * headDim));
        });
    }

    /** (B, T, H*hd) -> (B*H, T, hd) */
    private NDArray splitHeads(NDArray x, long b, long t) {
        return x.reshape(b, t, heads, headDim).transpose(0, 2, 1, 3).reshape(b * heads, t, headDim);
    }
}
