package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;

/**
 * A sampler as a text-to-image loop drives it (diffusers' scheduler protocol, with steps addressed by index):
 *
 * <pre>
 *   scheduler.setTimesteps(steps);
 *   latents = noise * scheduler.initNoiseSigma();
 *   for (int i = 0; i &lt; scheduler.timesteps().length; i++) {
 *       input = scheduler.scaleModelInput(latents, i);
 *       out = unet(input, scheduler.timesteps()[i], text);
 *       latents = scheduler.step(out, i, latents, noise).prevSample();
 *   }
 * </pre>
 *
 * There may be more model evaluations than steps (PNDM evaluates n + 1 times for n steps), so loop over
 * {@link #timesteps()}. {@code noise} gives a stochastic sampler the fresh noise of each step ({@link StepNoise}).
 * Instances hold the state of one run (timesteps, and for the multistep samplers the
 * previous model outputs): use one per sampling run, not shared between threads.
 */
public interface SamplingScheduler {
    SchedulerConfig config();

    /** Chooses the inference timesteps by the config's timestep_spacing and steps_offset. */
    void setTimesteps(int numInferenceSteps);

    /** The UNet's timestep at each evaluation, after {@link #setTimesteps(int)} (float: Euler's may be fractional). */
    float[] timesteps();

    /**
     * The standard deviation of the initial noise, by which unit Gaussian latents are multiplied. 1 for the samplers
     * whose sample lives in DDIM's units (x = sqrt(a) x0 + sqrt(1 - a) eps: DDIM, PNDM, DPM-Solver++); the
     * sigma-parameterized ones (Euler) override it.
     */
    default float initNoiseSigma() {
        return 1.0f;
    }

    /**
     * The UNet input at step {@code stepIndex}, a new tensor: in DDIM's units the sample itself (copied, since the
     * caller may close either); Euler divides by sqrt(sigma^2 + 1).
     */
    default NDArray scaleModelInput(NDArray sample, int stepIndex) {
        return sample.duplicate();
    }

    /**
     * Advances {@code sample} by one step given the UNet output at step {@code stepIndex}. A stochastic sampler
     * (DDPM) adds fresh noise drawn from {@code noise}; the deterministic ones never draw from it.
     */
    SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise);

    /** {@link #step(NDArray, int, NDArray, StepNoise)} with no noise source: for the deterministic samplers only. */
    default SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample) {
        return step(modelOutput, stepIndex, sample, StepNoise.NONE);
    }
}
