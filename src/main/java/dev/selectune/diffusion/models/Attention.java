package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.AttentionKernel;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Kernels;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.List;

/**
 * diffusers' {@code Attention} with the classic processor: {@code to_q}, {@code to_k}, {@code to_v} (bias optional),
 * multi-head {@code softmax(q k^T / sqrt(head_dim)) v} through {@link AttentionKernel} (libtorch's
 * {@code scaled_dot_product_attention} when available), then {@code to_out.0}.
 *
 * <p>Two shapes of use: the UNet's transformer blocks call it on tokens (B, N, C), with an optional context for
 * cross-attention; the VAE's mid block builds it with {@link #loadSpatial} (one head, {@code group_norm}, biases
 * everywhere, residual connection) and calls it on feature maps (B, C, H, W).
 */
public final class Attention {
    private final Linear toQ;
    private final Linear toK;
    private final Linear toV;
    private final Linear toOut;
    private final GroupNorm groupNorm;
    private final int heads;
    private final long headDim;
    private final float scale;
    private final boolean upcast;

    private Attention(Linear toQ, Linear toK, Linear toV, Linear toOut, GroupNorm groupNorm, int heads, long headDim,
                      boolean upcast) {
        this.toQ = toQ;
        this.toK = toK;
        this.toV = toV;
        this.toOut = toOut;
        this.groupNorm = groupNorm;
        this.heads = heads;
        this.headDim = headDim;
        this.scale = (float) (1.0 / Math.sqrt(headDim));
        this.upcast = upcast;
    }

    /**
     * @param crossAttentionDim width of the context for cross-attention, or 0 for self-attention
     * @param qkvBias           whether {@code to_q/to_k/to_v} have biases (the UNet's do not)
     * @param upcast            {@code upcast_attention}: compute scores and softmax in FLOAT32 when the model runs
     *                          in FLOAT16 (SD2.x overflows in half precision otherwise). No effect in FLOAT32.
     */
    public static Attention load(Weights w, long queryDim, long crossAttentionDim, int heads, long headDim,
                                 boolean qkvBias, boolean upcast) {
        long inner = heads * headDim;
        long kvDim = crossAttentionDim > 0 ? crossAttentionDim : queryDim;
        return new Attention(
                Linear.load(w.child("to_q"), queryDim, inner, qkvBias),
                Linear.load(w.child("to_k"), kvDim, inner, qkvBias),
                Linear.load(w.child("to_v"), kvDim, inner, qkvBias),
                Linear.load(w.child("to_out").child(0), inner, queryDim, true),
                null, heads, headDim, upcast);
    }

    /** The VAE mid-block attention: {@code group_norm}, one head of {@code channels}, biases, residual. */
    public static Attention loadSpatial(Weights w, long channels, int groups, float eps) {
        GroupNorm norm = GroupNorm.load(w.child("group_norm"), groups, channels, eps);
        return new Attention(
                Linear.load(w.child("to_q"), channels, channels, true),
                Linear.load(w.child("to_k"), channels, channels, true),
                Linear.load(w.child("to_v"), channels, channels, true),
                Linear.load(w.child("to_out").child(0), channels, channels, true),
                norm, 1, channels, false);
    }

    /**
     * @param x       (B, N, C) tokens, or (B, C, H, W) for the spatial (VAE) variant
     * @param context (B, M, cross_attention_dim) for cross-attention; null for self-attention
     */
    public NDArray forward(NDArray x, NDArray context) {
        if (x.getShape().dimension() == 4) {
            return forwardSpatial(x);
        }
        return Scopes.run(() -> {
            NDArray kv = context != null ? context : x;
            return toOut.forward(attend(toQ.forward(x), toK.forward(kv), toV.forward(kv)));
        });
    }

    private NDArray forwardSpatial(NDArray x) {
        return Scopes.run(() -> {
            Shape s = x.getShape();
            long b = s.get(0);
            long c = s.get(1);
            NDArray tokens = groupNorm.forward(x).reshape(b, c, s.get(2) * s.get(3)).transpose(0, 2, 1);
            NDArray out = forward(tokens, null);
            // x first, so that the result keeps the input's layout (see Transformer2DModel.projectOut).
            return x.add(out.transpose(0, 2, 1).reshape(s));
        });
    }

    /** (B, N, heads*d) projections -> (B, N, heads*d). */
    private NDArray attend(NDArray q, NDArray k, NDArray v) {
        DataType type = q.getDataType();
        // The fused kernel accumulates half-precision scores in fp32 already. Otherwise a dtype cast cuts DJL's
        // autograd graph, so with gradients on the scores stay in the model's precision.
        if (!upcast || type != DataType.FLOAT16 || Autograd.isEnabled() || Kernels.fused(q)) {
            return AttentionKernel.attendHeads(q, k, v, heads, scale);
        }
        return Precision.cast(AttentionKernel.attendHeads(Precision.cast(q, DataType.FLOAT32),
                Precision.cast(k, DataType.FLOAT32), Precision.cast(v, DataType.FLOAT32), heads, scale), type);
    }

    /** {@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0}: the layers a LoRA attaches to. */
    public List<Linear> projections() {
        return List.of(toQ, toK, toV, toOut);
    }

    public long headDim() {
        return headDim;
    }
}
