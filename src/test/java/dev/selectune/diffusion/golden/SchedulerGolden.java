package dev.selectune.diffusion.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.schedulers.DDIMScheduler;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.schedulers.SchedulerOutput;

import java.util.ArrayList;
import java.util.List;

/**
 * The schedulers built from the case's {@code scheduler/scheduler_config.json}, whatever class it names (as the
 * reference built DDPMScheduler and DDIMScheduler from it):
 * <ul>
 *   <li>{@code sched.betas}, {@code sched.alphas_cumprod}: the float32 noise schedule;</li>
 *   <li>{@code ddpm.noisy_samples} / {@code ddpm.velocity} from {@code ddpm.original_samples}, {@code ddpm.noise},
 *       {@code ddpm.timesteps} (add_noise and get_velocity);</li>
 *   <li>{@code ddim.timesteps}: set_timesteps(n) with n the entry's length;</li>
 *   <li>{@code ddim.samples} / {@code ddim.pred_original_samples}: the DDIM trajectory from {@code samples[0]},
 *       stepping with {@code ddim.model_outputs[i]} at the stored {@code ddim.timesteps[i]}, eta 0.</li>
 * </ul>
 */
public final class SchedulerGolden implements GoldenFamily {

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        if (run.has("sched.betas")) {
            checks.add(GoldenCheck.of("sched.betas", List.of(),
                    () -> run.manager().create(ddpm(run).schedule().betas())));
        }
        if (run.has("sched.alphas_cumprod")) {
            checks.add(GoldenCheck.of("sched.alphas_cumprod", List.of(),
                    () -> run.manager().create(ddpm(run).schedule().alphasCumprod())));
        }
        List<String> ddpmInputs = List.of("ddpm.original_samples", "ddpm.noise", "ddpm.timesteps");
        if (run.has("ddpm.noisy_samples")) {
            checks.add(GoldenCheck.of("ddpm.noisy_samples", ddpmInputs, () -> ddpm(run).addNoise(
                    run.tensor("ddpm.original_samples"), run.tensor("ddpm.noise"), run.tensor("ddpm.timesteps"))));
        }
        if (run.has("ddpm.velocity")) {
            checks.add(GoldenCheck.of("ddpm.velocity", ddpmInputs, () -> ddpm(run).getVelocity(
                    run.tensor("ddpm.original_samples"), run.tensor("ddpm.noise"), run.tensor("ddpm.timesteps"))));
        }
        if (run.has("ddim.timesteps")) {
            checks.add(GoldenCheck.of("ddim.timesteps", List.of(), () -> {
                DDIMScheduler ddim = ddim(run);
                ddim.setTimesteps(stepCount(run));
                return run.manager().create(ddim.integerTimesteps());
            }));
        }
        List<String> trajectoryInputs = List.of("ddim.model_outputs", "ddim.timesteps");
        if (run.has("ddim.samples")) {
            checks.add(GoldenCheck.of("ddim.samples", trajectoryInputs, () -> trajectory(run).get(0)));
        }
        if (run.has("ddim.pred_original_samples")) {
            checks.add(GoldenCheck.of("ddim.pred_original_samples", List.of("ddim.samples", "ddim.model_outputs",
                    "ddim.timesteps"), () -> trajectory(run).get(1)));
        }
        return checks;
    }

    private static SchedulerConfig config(GoldenCaseRun run) {
        return run.memo("scheduler-config", () -> SchedulerConfig.load(
                run.folder().component("scheduler").resolve("scheduler_config.json")));
    }

    private static DDPMScheduler ddpm(GoldenCaseRun run) {
        return new DDPMScheduler(config(run));
    }

    private static DDIMScheduler ddim(GoldenCaseRun run) {
        return new DDIMScheduler(config(run));
    }

    private static int stepCount(GoldenCaseRun run) {
        return Math.toIntExact(run.tensor("ddim.timesteps").size());
    }

    /**
     * [samples (n+1, ...), pred_original_samples (n, ...)]: {@code samples[0]} is the stored x_T (the input), each
     * later row one DDIM step from the previous Java row, so errors accumulate as in a real sampling run.
     */
    private static NDList trajectory(GoldenCaseRun run) {
        return run.memo("ddim:trajectory", () -> {
            DDIMScheduler ddim = ddim(run);
            ddim.setTimesteps(stepCount(run));
            long[] timesteps = run.tensor("ddim.timesteps").toLongArray();
            NDArray outputs = run.tensor("ddim.model_outputs");
            NDArray sample = run.tensor("ddim.samples").get(0);
            NDList samples = new NDList(sample);
            NDList originals = new NDList();
            for (int i = 0; i < timesteps.length; i++) {
                SchedulerOutput out = ddim.stepFromTimestep(outputs.get(i), timesteps[i], sample);
                sample = out.prevSample();
                samples.add(sample);
                originals.add(out.predOriginalSample());
            }
            return new NDList(NDArrays.stack(samples), NDArrays.stack(originals));
        });
    }
}
