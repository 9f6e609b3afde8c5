package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;

/**
 * Where a stochastic sampler (DDPM) gets the fresh noise it adds at a step: diffusers' {@code generator} argument of
 * {@code step}. It is a function of the step index rather than a stream read in call order, so the noise of a run
 * is fixed by whoever made the source (the pipeline, from the image's seed) and nothing else.
 */
@FunctionalInterface
public interface StepNoise {
    /** Standard-normal noise for step {@code stepIndex}: a new tensor shaped and typed like {@code like}, on its manager. */
    NDArray draw(int stepIndex, NDArray like);

    /** No source, for the deterministic samplers, which never draw: a stochastic sampler given it fails. */
    StepNoise NONE = (stepIndex, like) -> {
        throw new IllegalStateException("this sampler adds fresh noise at every step: call step(modelOutput, "
                + "stepIndex, sample, noise) with a StepNoise");
    };
}
