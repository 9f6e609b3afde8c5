package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code Transformer2DModel} for continuous input:
 * {@code norm (GroupNorm, eps 1e-6) -> proj_in -> transformer_blocks -> proj_out -> + input}.
 *
 * <p>{@code proj_in}/{@code proj_out} are 1x1 convolutions in SD1.x and Linear layers in SD2.x/SDXL
 * ({@code use_linear_projection}). A 1x1 convolution is the same matrix product as a Linear on the (B, H*W, C)
 * tokens, so both run as one GEMM on the tokens: the NCHW to token transpose is needed for the blocks anyway, and
 * the transpose back is folded into the residual add.
 */
public final class Transformer2DModel {
    /** GroupNorm eps inside Transformer2DModel (diffusers hard-codes 1e-6 here, unlike the resnets). */
    static final float NORM_EPS = 1e-6f;

    private final GroupNorm norm;
    private final Linear projIn;
    private final List<BasicTransformerBlock> blocks;
    private final Linear projOut;

    private Transformer2DModel(GroupNorm norm, Linear projIn, List<BasicTransformerBlock> blocks, Linear projOut) {
        this.norm = norm;
        this.projIn = projIn;
        this.blocks = blocks;
        this.projOut = projOut;
    }

    /**
     * @param heads      {@code num_attention_heads}
     * @param headDim    {@code attention_head_dim} in the Transformer2DModel sense (the size of one head)
     * @param numLayers  {@code transformer_layers_per_block} of this level
     */
    public static Transformer2DModel load(Weights w, int heads, long headDim, long inChannels, int numLayers,
                                          long crossAttentionDim, int groups, boolean useLinearProjection,
                                          boolean upcastAttention) {
        long inner = heads * headDim;
        GroupNorm norm = GroupNorm.load(w.child("norm"), groups, inChannels, NORM_EPS);
        Linear projIn = projection(w.child("proj_in"), inChannels, inner, useLinearProjection);
        List<BasicTransformerBlock> blocks = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            blocks.add(BasicTransformerBlock.load(w.child("transformer_blocks").child(i), inner, heads, headDim,
                    crossAttentionDim, upcastAttention));
        }
        Linear projOut = projection(w.child("proj_out"), inner, inChannels, useLinearProjection);
        return new Transformer2DModel(norm, projIn, blocks, projOut);
    }

    /**
     * {@code proj_in} and {@code proj_out}. In SD1.x their 1x1 kernels are held reshaped as (out, in) matrices, so
     * code that needs every weight of the UNet (full-parameter pretraining) takes them from here.
     */
    public List<Linear> projections() {
        return List.of(projIn, projOut);
    }

    private static Linear projection(Weights w, long in, long out, boolean linear) {
        if (linear) {
            return Linear.load(w, in, out, true);
        }
        NDArray kernel = w.get("weight", out, in, 1, 1);
        NDArray weight = kernel.reshape(out, in);
        if (weight != kernel) {
            kernel.close();
        }
        return new Linear(w.key("").replaceAll("\\.$", ""), weight, w.get("bias", out));
    }

    /**
     * @param x       (B, C, H, W)
     * @param context (B, M, cross_attention_dim)
     */
    public NDArray forward(NDArray x, NDArray context) {
        return Scopes.run(() -> {
            NDArray hidden = projectIn(x);
            for (BasicTransformerBlock block : blocks) {
                hidden = block.forward(hidden, context);
            }
            return projectOut(hidden, x);
        });
    }

    /**
     * {@code norm -> proj_in}: the (B, C, H, W) input as (B, H*W, inner) tokens. With {@link #transformerBlocks()}
     * and {@link #projectOut} it is {@link #forward}, in pieces that the UNet can checkpoint one at a time.
     */
    public NDArray projectIn(NDArray x) {
        return Scopes.run(() -> {
            Shape s = x.getShape();
            NDArray tokens = norm.forward(x).transpose(0, 2, 3, 1).reshape(s.get(0), s.get(2) * s.get(3), s.get(1));
            return projIn.forward(tokens);
        });
    }

    /** {@code proj_out}, back to (B, C, H, W), plus the residual {@code x} (the transformer's input). */
    public NDArray projectOut(NDArray hidden, NDArray x) {
        return Scopes.run(() -> {
            Shape s = x.getShape();
            NDArray out = projOut.forward(hidden);
            // x first: an element-wise op lays its result out as its first operand, and the residual stream keeps
            // the input's layout (the transposed tokens would make it channels-last in the contiguous mode).
            return x.add(out.reshape(s.get(0), s.get(2), s.get(3), s.get(1)).transpose(0, 3, 1, 2));
        });
    }

    public List<BasicTransformerBlock> transformerBlocks() {
        return blocks;
    }
}
