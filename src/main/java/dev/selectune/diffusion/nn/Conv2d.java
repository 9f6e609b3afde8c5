package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

/**
 * {@code torch.nn.Conv2d} with square kernel, stride and symmetric padding, no groups or dilation. A kernel held in
 * another dtype than the input's (fp16 on the CPU) is cast for the op ({@link Precision#withType}).
 */
public final class Conv2d {
    private final NDArray weight;
    private final NDArray bias;
    private final Shape stride;
    private final Shape padding;
    private static final Shape ONE = new Shape(1, 1);

    public Conv2d(NDArray weight, NDArray bias, int stride, int padding) {
        this.weight = weight;
        this.bias = bias;
        this.stride = new Shape(stride, stride);
        this.padding = new Shape(padding, padding);
    }

    /** Loads {@code weight} (out, in, k, k) and {@code bias} (out). */
    public static Conv2d load(Weights w, long in, long out, int kernel, int stride, int padding) {
        return new Conv2d(w.get("weight", out, in, kernel, kernel), w.get("bias", out), stride, padding);
    }

    public NDArray forward(NDArray x) {
        return OpProfile.time(OpProfile.Kind.CONVOLUTION, () -> Precision.withType(weight, x.getDataType(),
                w -> ai.djl.nn.convolutional.Conv2d.conv2d(x, w, bias, stride, padding, ONE, 1).singletonOrThrow()));
    }

    public NDArray weight() {
        return weight;
    }

    public long outChannels() {
        return weight.getShape().get(0);
    }
}
