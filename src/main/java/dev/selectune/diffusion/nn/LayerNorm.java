package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/** {@code torch.nn.LayerNorm} over the last axis, with affine weight and bias. */
public final class LayerNorm {
    private final NDArray weight;
    private final NDArray bias;
    private final float eps;
    private final Shape shape;

    public LayerNorm(NDArray weight, NDArray bias, float eps) {
        this.weight = weight;
        this.bias = bias;
        this.eps = eps;
        this.shape = weight.getShape();
    }

    public static LayerNorm load(Weights w, long channels, float eps) {
        return new LayerNorm(w.get("weight", channels), w.get("bias", channels), eps);
    }

    public NDArray forward(NDArray x) {
        return OpProfile.time(OpProfile.Kind.NORMALIZATION,
                () -> ai.djl.nn.norm.LayerNorm.layerNorm(x, shape, weight, bias, eps).singletonOrThrow());
    }
}
