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
        long out = outChannels();
        if (out % CHANNEL_BLOCK == 0 || !Autograd.isEnabled() || !Device.Type.CPU.equals(x.getDevice().getDeviceType())) {
            return ai.djl.nn.convolutional.Conv2d.conv2d(x, weight, bias, stride, padding, ONE, 1).singletonOrThrow();
        }
        return Scopes.run(() -> {
            long extra = CHANNEL_BLOCK - out % CHANNEL_BLOCK;
            Shape ws = weight.getShape();
            NDArray paddedWeight = weight.concat(
                    weight.getManager().zeros(new Shape(extra, ws.get(1), ws.get(2), ws.get(3)), weight.getDataType()), 0);
            NDArray paddedBias = bias == null ? null
                    : bias.concat(bias.getManager().zeros(new Shape(extra), bias.getDataType()), 0);
            NDArray y = ai.djl.nn.convolutional.Conv2d.conv2d(x, paddedWeight, paddedBias, stride, padding, ONE, 1)
                    .singletonOrThrow();
            return y.get(new NDIndex(":, :{}", out));
        });
    }

    public NDArray weight() {
        return weight;
    }

    public long outChannels() {
        return weight.getShape().get(0);
    }
}
