package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;

import java.util.Locale;

/**
 * How image tensors are laid out in memory: channels-last (NHWC in memory, still NCHW in shape, libtorch's
 * {@code torch.channels_last}) by default, or libtorch's plain contiguous NCHW.
 *
 * <p>Why channels-last: oneDNN's convolutions work on channels-interleaved data. Given NCHW tensors, libtorch
 * reorders the input, the kernel and the output around every convolution; and when one operand is channels-last
 * and the other not, it copies the other one into channels-last first, a whole kernel (up to 118 MB in SD1.5) on
 * every call. Holding the convolution kernels channels-last ({@link #kernel}, at load) makes every convolution's
 * output channels-last, and the ops between convolutions keep that layout (element-wise ops follow their first
 * operand, group norm and concatenation keep their inputs', the token transposes of the attention blocks become
 * free views), so no reorder is left. Only speed depends on the layout, never a value: the golden tests pass in
 * both. The models return contiguous NCHW tensors ({@link #contiguous}), as diffusers' do.
 *
 * <p>DJL's NDArray API has no memory-format argument, so both conversions are a transpose and a reshape that
 * libtorch cannot do as a view (it then copies into plain row-major order) and the inverse view; on a tensor already
 * in the wanted layout both reshapes are views and nothing is copied. Autograd records them like any other op.
 *
 * <p>The switch is the system property {@code selectune.memory-format} ({@code channels-last} or {@code contiguous}),
 * read here only; {@link #setMode} changes it for benchmarks and tests (for models loaded afterwards).
 */
public final class MemoryFormat {
    private static final String PROPERTY = "selectune.memory-format";

    /** The layout of convolution kernels and of the activations they produce. */
    public enum Mode {
        CHANNELS_LAST, CONTIGUOUS;

        public static Mode parse(String s) {
            return switch (s.trim().toLowerCase(Locale.ROOT)) {
                case "channels-last", "channels_last" -> CHANNELS_LAST;
                case "contiguous" -> CONTIGUOUS;
                default -> throw new IllegalArgumentException(PROPERTY + " must be channels-last or contiguous, got '"
                        + s + "'");
            };
        }

        @Override
        public String toString() {
            return this == CHANNELS_LAST ? "channels-last" : "contiguous";
        }
    }

    private static volatile Mode mode = Mode.parse(System.getProperty(PROPERTY, "channels-last"));

    private MemoryFormat() {
    }

    public static Mode mode() {
        return mode;
    }

    /** Chooses the layout of the kernels loaded from now on (benchmarks and tests compare both). */
    public static void setMode(Mode m) {
        mode = m;
    }

    /**
     * A convolution kernel (out, in, k, k) as the convolutions want it held: channels-last in that mode when k > 1
     * (a 1x1 kernel is the same bytes either way). Takes ownership: {@code kernel} is closed when a copy replaces it.
     */
    public static NDArray kernel(NDArray kernel) {
        Shape s = kernel.getShape();
        if (mode != Mode.CHANNELS_LAST || s.dimension() != 4 || s.get(2) * s.get(3) == 1) {
            return kernel;
        }
        // The views made on the way are closed with the scope; the held copy's storage is all that stays.
        NDArray held = Scopes.run(() -> channelsLast(kernel));
        kernel.close();
        return held;
    }

    /** {@code x} (N, C, H, W) laid out channels-last; a view when it already is. */
    public static NDArray channelsLast(NDArray x) {
        Shape s = x.getShape();
        return x.transpose(0, 2, 3, 1).reshape(s.get(0), -1).reshape(s.get(0), s.get(2), s.get(3), s.get(1))
                .transpose(0, 3, 1, 2);
    }

    /**
     * Whether {@code x} (N, C, H, W) is laid out channels-last (for tests and diagnostics).
     *
     * @throws IllegalStateException when libtorch's strides cannot be read (the kernels module did not load)
     */
    public static boolean isChannelsLast(NDArray x) {
        long[] st = Kernels.strides(x);
        if (st == null) {
            throw new IllegalStateException("strides are read through the kernels module, which is unavailable");
        }
        Shape s = x.getShape();
        long c = s.get(1);
        long w = s.get(3);
        return st[1] == 1 && st[3] == c && st[2] == w * c && st[0] == s.get(2) * w * c;
    }

    /** {@code x} (N, ...) in plain row-major order; a view when it already is. */
    public static NDArray contiguous(NDArray x) {
        Shape s = x.getShape();
        return x.reshape(s.get(0), -1).reshape(s);
    }
}
