package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.nn.Scopes;

/**
 * The VAE posterior, diffusers' {@code DiagonalGaussianDistribution}: the encoder moments split into mean and
 * log-variance along channels, the log-variance clamped to [-30, 20] (so {@code exp} can neither underflow to a
 * zero std nor overflow), and {@code std = exp(0.5 * logvar)}. The tensors belong to the caller's manager.
 */
public record DiagonalGaussianDistribution(NDArray mean, NDArray logvar, NDArray std) implements AutoCloseable {

    static DiagonalGaussianDistribution fromMoments(NDArray moments) {
        NDList parts = Scopes.runList(() -> {
            NDList halves = moments.split(2, 1);
            NDArray mean = halves.get(0).duplicate();
            NDArray logvar = halves.get(1).clip(-30f, 20f);
            NDArray std = logvar.mul(0.5f).exp();
            return new NDList(mean, logvar, std);
        });
        return new DiagonalGaussianDistribution(parts.get(0), parts.get(1), parts.get(2));
    }

    /**
     * {@code mean + std * noise}. The caller supplies standard-normal noise of the mean's shape, drawn from its own
     * seeded generator: torch's global RNG is process-wide and would make concurrent jobs non-deterministic.
     */
    public NDArray sample(NDArray noise) {
        return Scopes.run(() -> mean.add(std.mul(noise)));
    }

    /** The distribution's mode, which is its mean; what {@code latent_dist.mode()} returns. */
    public NDArray mode() {
        return mean;
    }

    @Override
    public void close() {
        mean.close();
        logvar.close();
        std.close();
    }
}
