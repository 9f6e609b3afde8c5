package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * {@code torch.nn.GroupNorm} over (B, C, ...) input: libtorch's {@code group_norm} through {@link Kernels}, which
 * keeps only the input and per-group statistics for the backward. The fallback (DJL has no GroupNorm op) views the
 * input as (B, G, C/G * spatial), normalizes each group by its mean and variance and applies the per-channel affine.
 * It used DJL's layer norm over the last axis before; inside the UNet that composition's backward gave NaN LoRA
 * gradients on this machine (every {@code lora.grad.*} golden entry, both cases), while the same op on the same
 * shapes alone did not, so the fallback now uses plain element-wise ops and reductions.
 */
public final class GroupNorm {
    private final int groups;
    private final long channels;
    private final float eps;
    private final NDArray weight;
    private final NDArray bias;

    public GroupNorm(int groups, long channels, float eps, NDArray weight, NDArray bias) {
        if (channels % groups != 0) {
            throw new WeightsException("GroupNorm: " + channels + " channels do not split into " + groups + " groups");
        }
        this.groups = groups;
        this.channels = channels;
        this.eps = eps;
        this.weight = weight;
        this.bias = bias;
    }

    public static GroupNorm load(Weights w, int groups, long channels, float eps) {
        return new GroupNorm(groups, channels, eps, w.get("weight", channels), w.get("bias", channels));
    }

    public NDArray forward(NDArray x) {
        return forward(x, false);
    }

    /** {@code silu(group_norm(x))}, the pair that precedes most convolutions; one fused call when available. */
    public NDArray forwardSilu(NDArray x) {
        return forward(x, true);
    }

    private NDArray forward(NDArray x, boolean silu) {
        if (Kernels.fused(x)) {
            NDArray fused = Kernels.groupNorm(x, groups, weight, bias, eps, silu);
            if (fused != null) {
                return fused;
            }
        }
        NDArray normed = composed(x);
        return silu ? Activations.silu(normed) : normed;
    }

    private NDArray composed(NDArray x) {
        return Scopes.run(() -> {
            Shape shape = x.getShape();
            long batch = shape.get(0);
            long perGroup = shape.size() / batch / groups;
            NDArray grouped = x.reshape(batch, groups, perGroup);
            NDArray centered = grouped.sub(grouped.mean(new int[] {2}, true));
            NDArray variance = centered.square().mean(new int[] {2}, true);
            NDArray normed = centered.div(Scalars.add(variance, eps).sqrt()).reshape(shape);
            long[] affine = new long[shape.dimension()];
            java.util.Arrays.fill(affine, 1);
            affine[1] = channels;
            return normed.mul(weight.reshape(affine)).add(bias.reshape(affine));
        });
    }
}
