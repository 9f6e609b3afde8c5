package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.OpProfile;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.List;

/**
 * diffusers' {@code BasicTransformerBlock} as the Stable Diffusion UNets configure it (layer norms, no
 * {@code only_cross_attention}, no ada-norm): {@code x += attn1(norm1(x))}, {@code x += attn2(norm2(x), context)},
 * {@code x += ff(norm3(x))}.
 */
public final class BasicTransformerBlock {
    /** LayerNorm eps of the UNet transformer blocks ({@code norm_eps} of the block, not of the UNet). */
    static final float LAYER_NORM_EPS = 1e-5f;

    private final LayerNorm norm1;
    private final Attention attn1;
    private final LayerNorm norm2;
    private final Attention attn2;
    private final LayerNorm norm3;
    private final FeedForward ff;

    private BasicTransformerBlock(LayerNorm norm1, Attention attn1, LayerNorm norm2, Attention attn2, LayerNorm norm3,
                                  FeedForward ff) {
        this.norm1 = norm1;
        this.attn1 = attn1;
        this.norm2 = norm2;
        this.attn2 = attn2;
        this.norm3 = norm3;
        this.ff = ff;
    }

    public static BasicTransformerBlock load(Weights w, long dim, int heads, long headDim, long crossAttentionDim,
                                             boolean upcastAttention) {
        return new BasicTransformerBlock(
                LayerNorm.load(w.child("norm1"), dim, LAYER_NORM_EPS),
                Attention.load(w.child("attn1"), dim, 0, heads, headDim, false, upcastAttention),
                LayerNorm.load(w.child("norm2"), dim, LAYER_NORM_EPS),
                Attention.load(w.child("attn2"), dim, crossAttentionDim, heads, headDim, false, upcastAttention),
                LayerNorm.load(w.child("norm3"), dim, LAYER_NORM_EPS),
                FeedForward.load(w.child("ff"), dim, 4));
    }

    /**
     * @param x       (B, N, dim)
     * @param context (B, M, cross_attention_dim)
     */
    public NDArray forward(NDArray x, NDArray context) {
        return Scopes.run(() -> {
            NDArray n1 = norm1.forward(x);
            NDArray h = x.add(OpProfile.time(OpProfile.Kind.ATTENTION, () -> attn1.forward(n1, null)));
            NDArray n2 = norm2.forward(h);
            h = h.add(OpProfile.time(OpProfile.Kind.ATTENTION, () -> attn2.forward(n2, context)));
            return h.add(ff.forward(norm3.forward(h)));
        });
    }

    public List<Attention> attentions() {
        return List.of(attn1, attn2);
    }
}
