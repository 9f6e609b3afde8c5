package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;

/** The activations the diffusers and transformers models use, by their config names. */
public final class Activations {
    private Activations() {
    }

    /** libtorch's {@code silu} (which keeps only its input for the backward), else {@code x * sigmoid(x)}. */
    public static NDArray silu(NDArray x) {
        if (Kernels.fused(x)) {
            NDArray fused = Kernels.silu(x);
            if (fused != null) {
                return fused;
            }
        }
        return Scopes.run(() -> x.mul(x.getNDArrayInternal().sigmoid()));
    }

    /** Exact erf GELU, as torch's default {@code F.gelu} (not the tanh approximation). */
    public static NDArray gelu(NDArray x) {
        return x.getNDArrayInternal().gelu();
    }

    /** x * sigmoid(1.702 x), OpenAI CLIP's approximation. */
    public static NDArray quickGelu(NDArray x) {
        return Scopes.run(() -> x.mul(Scalars.mul(x, 1.702f).getNDArrayInternal().sigmoid()));
    }

    /** Applies the activation named in a config ({@code silu}/{@code swish}, {@code gelu}, {@code quick_gelu}). */
    public static NDArray byName(String name, NDArray x) {
        return switch (name) {
            case "silu", "swish" -> silu(x);
            case "gelu" -> gelu(x);
            case "quick_gelu" -> quickGelu(x);
            default -> throw new IllegalArgumentException("unsupported activation '" + name + "'");
        };
    }

    public static void requireKnown(String where, String name) {
        switch (name) {
            case "silu", "swish", "gelu", "quick_gelu" -> { }
            default -> throw new WeightsException(where + ": unsupported activation '" + name + "'");
        }
    }
}
