package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDManager;

/**
 * A loaded model together with the manager that holds its weights: closing it frees the weights. This is how the
 * trainer drops the VAE and text encoders after encoding its data and keeps only the UNet.
 */
public record Owned<T>(T model, NDManager manager) implements AutoCloseable {
    @Override
    public void close() {
        manager.close();
    }
}
