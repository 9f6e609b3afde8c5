package dev.selectune.training;

import ai.djl.ndarray.NDArray;

/** The forward diffusion process as training needs it (DDPM {@code add_noise} and the prediction target). */
public interface NoiseTargets {
    /** T: timesteps are drawn from 0..T-1. */
    int trainTimesteps();

    /** x_t = sqrt(a_t) x0 + sqrt(1 - a_t) noise. */
    NDArray addNoise(NDArray latents, NDArray noise, int timestep);

    /** What the model must predict: the noise (epsilon) or the velocity (v_prediction), as the scheduler says. */
    NDArray target(NDArray latents, NDArray noise, int timestep);
}
