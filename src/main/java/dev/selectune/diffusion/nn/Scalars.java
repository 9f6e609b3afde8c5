package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * Arithmetic with a constant that is safe under autograd: every {@code x op constant} on a path a gradient may
 * take goes through here.
 *
 * <p>DJL's {@code x.mul(2f)} wraps the constant in a tensor over a Java direct buffer ({@code from_blob}) and closes
 * it at once. Autograd keeps that tensor as the saved factor of the product (d(x*s)/dx = s), but nothing keeps its
 * buffer: once the GC frees it, the backward multiplies by freed memory and the gradients come out as garbage or
 * NaN, intermittently. Here the constant is a native tensor ({@code torch.full}), which the graph owns.
 */
public final class Scalars {
    private Scalars() {
    }

    /** {@code x * s}, differentiable. */
    public static NDArray mul(NDArray x, float s) {
        try (NDArray factor = x.getManager().full(new Shape(), s, x.getDataType())) {
            return x.mul(factor);
        }
    }

    /** {@code x + s}, differentiable. */
    public static NDArray add(NDArray x, float s) {
        try (NDArray addend = x.getManager().full(new Shape(), s, x.getDataType())) {
            return x.add(addend);
        }
    }

    /** {@code x / s}, differentiable. */
    public static NDArray div(NDArray x, float s) {
        try (NDArray divisor = x.getManager().full(new Shape(), s, x.getDataType())) {
            return x.div(divisor);
        }
    }
}
