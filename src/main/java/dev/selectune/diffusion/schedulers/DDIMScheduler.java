package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Scopes;

/**
 * diffusers 0.27's {@code DDIMScheduler} (Song et al., "Denoising Diffusion Implicit Models"): deterministic with
 * eta = 0, stochastic with eta &gt; 0 and caller-supplied noise (so a job's own generator decides it). Scalars are
 * computed in float32 in diffusers' order, so the trajectory matches the reference to rounding.
 */
public final class DDIMScheduler implements SamplingScheduler {
    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    /** alpha-bar "before" the first training step: 1, or alphas_cumprod[0] with set_alpha_to_one=false (SD). */
    private final float finalAlphaCumprod;
    private long[] timesteps = new long[0];
    private int numInferenceSteps;

    public DDIMScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1.0f : schedule.alphaCumprod(0);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    @Override
    public void setTimesteps(int numInferenceSteps) {
        this.timesteps = spacedTimesteps(config, numInferenceSteps);
        this.numInferenceSteps = numInferenceSteps;
    }

    /**
     * The integer timesteps diffusers' DDIM/PNDM/DDPM {@code set_timesteps} picks, in sampling (descending) order:
     * "leading" {@code k * (N // n) + steps_offset}, "trailing" {@code round(N - k * N/n) - 1}, "linspace"
     * {@code round(linspace(0, N-1, n))}; numpy's round is half-to-even, as {@link Math#rint}.
     */
    static long[] spacedTimesteps(SchedulerConfig config, int n) {
        int trainSteps = config.requireInferenceSteps(n);
        long[] out = new long[n];
        switch (config.timestepSpacing()) {
            case LEADING -> {
                int ratio = trainSteps / n;
                for (int k = 0; k < n; k++) {
                    out[n - 1 - k] = (long) k * ratio + config.stepsOffset();
                }
            }
            case TRAILING -> {
                double ratio = (double) trainSteps / n;
                for (int k = 0; k < n; k++) {
                    out[k] = (long) Math.rint(trainSteps - k * ratio) - 1;
                }
            }
            case LINSPACE -> {
                double[] values = Numpy.linspace(0, trainSteps - 1, n);
                for (int k = 0; k < n; k++) {
                    out[n - 1 - k] = (long) Math.rint(values[k]);
                }
            }
        }
        return out;
    }

    @Override
    public float[] timesteps() {
        return Numpy.asFloat32(timesteps);
    }

    /** The timesteps as diffusers' int64 tensor holds them. */
    public long[] integerTimesteps() {
        return timesteps.clone();
    }

    @Override
    public SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise) {
        requireTimesteps();
        return stepFromTimestep(modelOutput, timesteps[stepIndex], sample, 0f, null);
    }

    /**
     * diffusers' {@code step(model_output, timestep, sample, eta=0)}, given the timestep itself rather than the step
     * index that {@link #step} takes (a separate name, so that an {@code int} timestep cannot pick the index form).
     */
    public SchedulerOutput stepFromTimestep(NDArray modelOutput, long timestep, NDArray sample) {
        return stepFromTimestep(modelOutput, timestep, sample, 0f, null);
    }

    /**
     * One DDIM step from {@code timestep} to {@code timestep - N // n}. With {@code eta > 0} the step adds
     * {@code eta * sigma_t * varianceNoise}, which must then be given (standard normal, shaped like the sample).
     */
    public SchedulerOutput stepFromTimestep(NDArray modelOutput, long timestep, NDArray sample, float eta,
                                            NDArray varianceNoise) {
        requireTimesteps();
        if (eta > 0 && varianceNoise == null) {
            throw new IllegalArgumentException("eta > 0 needs variance noise");
        }
        int t = Math.toIntExact(timestep);
        int prevT = t - config.numTrainTimesteps() / numInferenceSteps;
        float alphaProdT = schedule.alphaCumprod(t);
        float alphaProdPrev = prevT >= 0 ? schedule.alphaCumprod(prevT) : finalAlphaCumprod;
        float betaProdT = 1f - alphaProdT;
        float sqrtAlpha = (float) Math.sqrt(alphaProdT);
        float sqrtBeta = (float) Math.sqrt(betaProdT);
        float variance = ((1f - alphaProdPrev) / betaProdT) * (1f - alphaProdT / alphaProdPrev);
        float stdDev = eta * (float) Math.sqrt(variance);
        float directionScale = (float) Math.sqrt(1f - alphaProdPrev - stdDev * stdDev);
        float sqrtAlphaPrev = (float) Math.sqrt(alphaProdPrev);

        NDArray predOriginal = Scopes.run(() -> {
            NDArray x0 = ModelOutputs.originalSample(config.predictionType(), modelOutput, sample, sqrtAlpha, sqrtBeta);
            return config.clipSample() ? x0.clip(-config.clipSampleRange(), config.clipSampleRange()) : x0;
        });
        NDArray prev = Scopes.run(() -> {
            NDArray predEpsilon = ModelOutputs.epsilon(config.predictionType(), modelOutput, sample, predOriginal,
                    sqrtAlpha, sqrtBeta);
            NDArray x = predOriginal.mul(sqrtAlphaPrev).add(predEpsilon.mul(directionScale));
            return eta > 0 ? x.add(varianceNoise.mul(stdDev)) : x;
        });
        return new SchedulerOutput(prev, predOriginal);
    }

    private void requireTimesteps() {
        if (numInferenceSteps == 0) {
            throw new IllegalStateException("call setTimesteps before step");
        }
    }
}
