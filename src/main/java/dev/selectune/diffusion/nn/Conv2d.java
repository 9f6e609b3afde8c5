package dev.selectune.diffusion.nn;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;

/**
 * {@code torch.nn.Conv2d} with square kernel, stride and symmetric padding, no groups or dilation.
 *
 * <p>On AVX-512 CPUs the oneDNN inside libtorch 2.7.1 computes the input gradient of a convolution wrongly (values
 * off by half their size, sometimes NaN from memory it never wrote) when the output channels are not a multiple of
 * its 16-channel block and the batch or the image is not tiny. The UNet's {@code conv_out} (to 4 latent channels) is
 * such a convolution, so every BP gradient went wrong there. Under autograd on the CPU such a convolution therefore
 * runs with zero output channels added up to the block and sliced off again: the output is the same and the gradient
 * takes oneDNN's well-trodden path. Without gradients nothing changes.
 *
 * <p>The same libtorch computes the forward of a convolution with a kernel larger than 1x1 wrongly (errors of the
 * size of the output itself) when the input channels are more than one 16-channel block and not a multiple of it
 * (20, 24, 40, 56, 72 are wrong; up to 16 and every multiple of 16 are right). Real SD models never have such a
 * width, but a tiny UNet's skip concatenation does (16 + 8 = 24), so on the CPU such a convolution runs with zero
 * input channels added up to the block, and zero kernel rows to match: the same sum, on the path that works.
 *
 * <p>A kernel held in another dtype than the input's (fp16 on the CPU) is cast for the op ({@link Precision#withType}).
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

    /** oneDNN's output-channel block on AVX-512 (8 on AVX2 divides it). */
    static final int CHANNEL_BLOCK = 16;

    public NDArray forward(NDArray x) {
        return OpProfile.time(OpProfile.Kind.CONVOLUTION, () -> Precision.withType(weight, x.getDataType(),
                w -> convolve(x, w)));
    }

    private NDArray convolve(NDArray x, NDArray w) {
        long in = w.getShape().get(1);
        if (in > CHANNEL_BLOCK && in % CHANNEL_BLOCK != 0 && w.getShape().get(2) > 1
                && Device.Type.CPU.equals(x.getDevice().getDeviceType())) {
            return Scopes.run(() -> convolveBlockedInput(padToBlock(x, 1), padToBlock(w, 1)));
        }
        return convolveBlockedInput(x, w);
    }

    private NDArray convolveBlockedInput(NDArray x, NDArray w) {
        long out = w.getShape().get(0);
        if (out % CHANNEL_BLOCK == 0 || !Autograd.isEnabled() || !Device.Type.CPU.equals(x.getDevice().getDeviceType())) {
            return ai.djl.nn.convolutional.Conv2d.conv2d(x, w, bias, stride, padding, ONE, 1).singletonOrThrow();
        }
        return Scopes.run(() -> {
            NDArray paddedBias = bias == null ? null : padToBlock(bias, 0);
            NDArray y = ai.djl.nn.convolutional.Conv2d.conv2d(x, padToBlock(w, 0), paddedBias, stride, padding, ONE, 1)
                    .singletonOrThrow();
            return y.get(new NDIndex(":, :{}", out));
        });
    }

    /** {@code a} with zeros appended along {@code axis} up to a multiple of {@link #CHANNEL_BLOCK}. */
    private static NDArray padToBlock(NDArray a, int axis) {
        long[] zeros = a.getShape().getShape().clone();
        zeros[axis] = CHANNEL_BLOCK - zeros[axis] % CHANNEL_BLOCK;
        return a.concat(a.getManager().zeros(new Shape(zeros), a.getDataType()), axis);
    }

    public NDArray weight() {
        return weight;
    }

    public long outChannels() {
        return weight.getShape().get(0);
    }
}
