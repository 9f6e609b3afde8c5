package dev.selectune.diffusion.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.pytorch.engine.PtNDArray;
import ai.djl.pytorch.jni.JniUtils;

import java.util.function.Supplier;

/**
 * Thread-local gradient mode and backward, straight on libtorch.
 *
 * <p>DJL allows one {@code GradientCollector} per process, which would serialize the workers of a multi-GPU
 * service; libtorch's grad mode is per thread, so each worker sets its own here. New threads start with grad mode
 * ON, so every entry point (sampling, ZO forwards, workers) says which mode it wants.
 */
public final class Autograd {
    static {
        Engine.getEngine("PyTorch");
    }

    private Autograd() {
    }

    public static boolean isEnabled() {
        return JniUtils.isGradMode();
    }

    public static void setEnabled(boolean enabled) {
        JniUtils.setGradMode(enabled);
    }

    /** Runs {@code body} with gradient recording off, restoring the caller's mode afterwards. */
    public static <T> T noGrad(Supplier<T> body) {
        return withMode(false, body);
    }

    /** Runs {@code body} with gradient recording on, restoring the caller's mode afterwards. */
    public static <T> T withGrad(Supplier<T> body) {
        return withMode(true, body);
    }

    public static void noGrad(Runnable body) {
        withMode(false, () -> {
            body.run();
            return null;
        });
    }

    private static <T> T withMode(boolean enabled, Supplier<T> body) {
        boolean previous = JniUtils.isGradMode();
        JniUtils.setGradMode(enabled);
        try {
            return body.get();
        } finally {
            JniUtils.setGradMode(previous);
        }
    }

    /** Backpropagates a scalar into every leaf that requires a gradient; the graph is freed afterwards. */
    public static void backward(NDArray scalar) {
        try (NDArray ones = scalar.onesLike()) {
            JniUtils.backward((PtNDArray) scalar, (PtNDArray) ones, false, false);
        }
    }

    /** Backpropagates {@code upstream} (d loss / d output) through {@code output}; used by block checkpointing. */
    public static void backward(NDArray output, NDArray upstream) {
        JniUtils.backward((PtNDArray) output, (PtNDArray) upstream, false, false);
    }

    /** The accumulated gradient of a leaf, or null when backward has not reached it. */
    public static NDArray gradientOrNull(NDArray leaf) {
        if (!JniUtils.requiresGrad((PtNDArray) leaf)) {
            return null;
        }
        PtNDArray g = JniUtils.getGradient((PtNDArray) leaf);
        return g;
    }

    /** Clears a leaf's accumulated gradient so the next backward starts from zero. */
    public static void zeroGradient(NDArray leaf) {
        JniUtils.zeroGrad((PtNDArray) leaf);
    }
}
