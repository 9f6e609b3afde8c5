package dev.selectune.diffusion.schedulers;

import dev.selectune.diffusion.PipelineException;

import java.nio.file.Path;
import java.util.List;
import java.util.Set;

/**
 * Picks the implementation for a pipeline's {@code scheduler/scheduler_config.json}.
 *
 * <p>For sampling, {@code DDIMScheduler}, {@code EulerDiscreteScheduler}, {@code DPMSolverMultistepScheduler}
 * (DPM-Solver++ of order 1 or 2), {@code PNDMScheduler} with {@code skip_prk_steps=true} (PLMS, what SD 1.x
 * ships) and {@code DDPMScheduler} (ancestral, with fresh noise at every step) run as configured. Other
 * schedulers that checkpoints ship fall back to a sampler that solves the same probability-flow ODE with the same
 * noise schedule, prediction type, timestep spacing and offset, as diffusers users do with
 * {@code DDIMScheduler.from_config(pipe.scheduler.config)}:
 * <ul>
 *   <li>the alpha-parameterized solvers (PNDM with its Runge-Kutta warm-up, single-step DPM-Solver, DEIS, UniPC)
 *       fall back to DDIM, eta 0;</li>
 *   <li>the sigma-parameterized k-diffusion samplers (LMS, Euler ancestral, Heun, KDPM2) fall back to Euler.</li>
 * </ul>
 * The images differ from what the shipped solver would give at the same step count (higher-order solvers
 * converge in fewer steps), but they are samples of the same model. An unknown class name fails.
 */
public final class Schedulers {
    private static final Set<String> DDIM_FALLBACK = Set.of("DPMSolverSinglestepScheduler",
            "DEISMultistepScheduler", "UniPCMultistepScheduler");
    private static final Set<String> EULER_FALLBACK = Set.of("LMSDiscreteScheduler", "EulerAncestralDiscreteScheduler",
            "HeunDiscreteScheduler", "KDPM2DiscreteScheduler", "KDPM2AncestralDiscreteScheduler");

    private Schedulers() {
    }

    /** The sampler for a config (see the class comment for the fallbacks). */
    public static SamplingScheduler forSampling(SchedulerConfig config) {
        String cls = config.className();
        if (cls.equals("PNDMScheduler")) {
            return config.multistep().skipPrkSteps() ? new PNDMScheduler(config) : new DDIMScheduler(config);
        }
        if (cls.equals("DDIMScheduler") || DDIM_FALLBACK.contains(cls)) {
            return new DDIMScheduler(config);
        }
        if (cls.equals("EulerDiscreteScheduler") || EULER_FALLBACK.contains(cls)) {
            return new EulerDiscreteScheduler(config);
        }
        if (cls.equals("DPMSolverMultistepScheduler")) {
            return new DPMSolverMultistepScheduler(config);
        }
        if (cls.equals("DDPMScheduler")) {
            return new DDPMScheduler(config);
        }
        throw new PipelineException("scheduler config field _class_name='" + cls + "' is not a scheduler this code can "
                + "sample with (implemented: DDIMScheduler, EulerDiscreteScheduler, DPMSolverMultistepScheduler, "
                + "PNDMScheduler, DDPMScheduler; fallbacks for "
                + DDIM_FALLBACK + " and " + EULER_FALLBACK + ")");
    }

    /** The sampler names a request may give ({@link #named}), in the spelling of the API and the CLI. */
    public static final List<String> NAMES = List.of("ddim", "euler", "dpmsolver++", "pndm", "ddpm");

    /**
     * The sampler called {@code name} (one of {@link #NAMES}) on the noise schedule of a pipeline's {@code config},
     * as diffusers' {@code XScheduler.from_config(pipe.scheduler.config)}: the schedule, prediction type, timestep
     * spacing and offset stay; the sampler's own options take its diffusers defaults unless the config is of that
     * class. {@code pndm} is PLMS ({@code skip_prk_steps=true}, as Stable Diffusion ships it); {@code ddpm} is
     * ancestral DDPM ({@code variance_type="fixed_small"}), whose steps draw fresh noise from the caller's
     * {@link StepNoise}.
     */
    public static SamplingScheduler named(String name, SchedulerConfig config) {
        String cls = switch (name) {
            case "ddim" -> "DDIMScheduler";
            case "euler" -> "EulerDiscreteScheduler";
            case "dpmsolver++" -> "DPMSolverMultistepScheduler";
            case "pndm" -> "PNDMScheduler";
            case "ddpm" -> "DDPMScheduler";
            default -> throw new IllegalArgumentException("unknown scheduler '" + name + "' (expected one of "
                    + String.join(", ", NAMES) + ")");
        };
        if (config.className().equals(cls)) {
            return forSampling(config);
        }
        SchedulerConfig.MultistepOptions defaults = SchedulerConfig.MultistepOptions.DEFAULT;
        SchedulerConfig.MultistepOptions options = cls.equals("PNDMScheduler")
                ? new SchedulerConfig.MultistepOptions(defaults.solverOrder(), defaults.midpoint(),
                        defaults.lowerOrderFinal(), defaults.eulerAtFinal(), defaults.finalSigmaZero(), true)
                : defaults;
        return forSampling(new SchedulerConfig(cls, config.numTrainTimesteps(), config.betaStart(), config.betaEnd(),
                config.betaSchedule(), config.trainedBetas(), config.predictionType(), config.timestepSpacing(),
                config.stepsOffset(), config.setAlphaToOne(), config.clipSample(), config.clipSampleRange(),
                config.rescaleBetasZeroSnr(), options));
    }

    /** The sampler for a pipeline's scheduler folder. */
    public static SamplingScheduler forSampling(Path schedulerDir) {
        return forSampling(SchedulerConfig.load(schedulerDir.resolve("scheduler_config.json")));
    }

    /** The training helpers (noising and targets) for a config; every class shares the noise schedule. */
    public static DDPMScheduler forTraining(SchedulerConfig config) {
        return new DDPMScheduler(config);
    }
}
