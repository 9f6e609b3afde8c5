/**
 * Noise schedules and samplers as diffusers 0.27 computes them.
 *
 * <p>{@link dev.selectune.diffusion.schedulers.SchedulerConfig} reads {@code scheduler_config.json};
 * {@link dev.selectune.diffusion.schedulers.NoiseSchedule} gives the float32 betas and alphas_cumprod (bit-exact);
 * {@link dev.selectune.diffusion.schedulers.DDPMScheduler} noises latents and gives the training target (and samples
 * ancestrally); {@link dev.selectune.diffusion.schedulers.Schedulers#forSampling} picks the
 * {@link dev.selectune.diffusion.schedulers.SamplingScheduler} for a config: DDIM, Euler, DPM-Solver++, PNDM or DDPM,
 * with documented fallbacks for the classes this code does not support.
 */
package dev.selectune.diffusion.schedulers;
