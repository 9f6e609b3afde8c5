package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Scopes;

/**
 * diffusers 0.27's {@code EulerDiscreteScheduler} (Karras et al. 2022, Algorithm 2, with s_churn = 0): the first-order
 * Euler method on the probability-flow ODE in the sigma parameterization, x = x0 + sigma * eps with
 * sigma = sqrt((1 - a) / a). Inference sigmas are interpolated linearly in the training sigmas at the chosen
 * timesteps, then a final 0 is appended; the UNet sees {@code x / sqrt(sigma^2 + 1)}.
 *
 * <p>Without churn the step is deterministic and equals DDIM's eta = 0 update written in sigma units (both give
 * x_prev = x0 + sigma_prev * eps), except that the last Euler step goes to sigma = 0.
 */
public final class EulerDiscreteScheduler implements SamplingScheduler {
    private final SchedulerConfig config;
    /** sqrt((1 - a_t) / a_t) for every training timestep, in float32. */
    private final float[] trainSigmas;
    private float[] timesteps = new float[0];
    private float[] sigmas = new float[0];

    public EulerDiscreteScheduler(SchedulerConfig config) {
        this.config = config;
        this.trainSigmas = NoiseSchedule.trainSigmas(config);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    @Override
    public void setTimesteps(int n) {
        int trainSteps = config.requireInferenceSteps(n);
        float[] ts = new float[n];
        switch (config.timestepSpacing()) {
            case LINSPACE -> {
                // np.linspace(0, N-1, n, dtype=float32)[::-1]: computed in float64, then rounded to float32.
                double[] values = Numpy.linspace(0, trainSteps - 1, n);
                for (int k = 0; k < n; k++) {
                    ts[n - 1 - k] = (float) values[k];
                }
            }
            case LEADING, TRAILING -> {
                long[] integer = DDIMScheduler.spacedTimesteps(config, n);
                for (int k = 0; k < n; k++) {
                    ts[k] = integer[k];
                }
            }
        }
        float[] s = new float[n + 1];
        for (int k = 0; k < n; k++) {
            s[k] = (float) Numpy.interp(ts[k], trainSigmas);
        }
        s[n] = 0f;
        this.timesteps = ts;
        this.sigmas = s;
    }

    @Override
    public float[] timesteps() {
        return timesteps.clone();
    }

    /** The n + 1 inference sigmas, the last one 0. */
    public float[] sigmas() {
        return sigmas.clone();
    }

    /** The training sigmas sqrt((1 - a_t) / a_t), t = 0..N-1. */
    public float[] trainSigmas() {
        return trainSigmas.clone();
    }

    /** max sigma for "linspace"/"trailing", sqrt(max sigma^2 + 1) for "leading" (diffusers' choice). */
    @Override
    public float initNoiseSigma() {
        requireTimesteps();
        float max = 0f;
        for (float s : sigmas) {
            max = Math.max(max, s);
        }
        return config.timestepSpacing() == SchedulerConfig.TimestepSpacing.LEADING
                ? (float) Math.sqrt(max * max + 1f) : max;
    }

    @Override
    public NDArray scaleModelInput(NDArray sample, int stepIndex) {
        requireTimesteps();
        float sigma = sigmas[stepIndex];
        return sample.div((float) Math.sqrt(sigma * sigma + 1f));
    }

    @Override
    public SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise) {
        requireTimesteps();
        float sigma = sigmas[stepIndex];
        float dt = sigmas[stepIndex + 1] - sigma;
        NDArray predOriginal = Scopes.run(() -> switch (config.predictionType()) {
            case EPSILON -> sample.sub(modelOutput.mul(sigma));
            case V_PREDICTION -> modelOutput.mul(-sigma / (float) Math.sqrt(sigma * sigma + 1f))
                    .add(sample.div(sigma * sigma + 1f));
            case SAMPLE -> modelOutput.duplicate();
        });
        NDArray prev = Scopes.run(() -> {
            NDArray derivative = sample.sub(predOriginal).div(sigma);
            return sample.add(derivative.mul(dt));
        });
        return new SchedulerOutput(prev, predOriginal);
    }

    private void requireTimesteps() {
        if (sigmas.length == 0) {
            throw new IllegalStateException("call setTimesteps first");
        }
    }
}
