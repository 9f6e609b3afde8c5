package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Scopes;

/**
 * diffusers 0.27's {@code DDPMScheduler} (Ho et al., "Denoising Diffusion Probabilistic Models").
 *
 * <p>Training side: noising clean latents at per-item timesteps and the regression target the UNet is trained on.
 * The coefficients are taken from alphas_cumprod in float32 and applied per batch item, so a batch may mix
 * timesteps.
 *
 * <p>Sampling side: ancestral sampling with {@code variance_type="fixed_small"} (the only one Stable Diffusion
 * configs use; {@link SchedulerConfig} refuses the others). Each step moves to the posterior mean of x_{t'} given
 * x_t and the predicted x0 (t' the next inference timestep, formula (7) of the paper) and adds fresh noise with the
 * posterior variance, except at timestep 0. That is DDIM at eta = 1 in effect, but with diffusers' own formulas and
 * one difference at the end: before the first training step alpha-bar is 1 here, whatever set_alpha_to_one says.
 * Scalars are computed in float32 in diffusers' order.
 */
public final class DDPMScheduler implements SamplingScheduler {
    /** diffusers clamps the variance here (its log variants take the log of it); sqrt gives noise of std 1e-10. */
    private static final float MIN_VARIANCE = 1e-20f;

    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private long[] timesteps = new long[0];

    public DDPMScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    public int numTrainTimesteps() {
        return schedule.numTrainTimesteps();
    }

    /** set_timesteps: the same spacings as DDIM's ("leading" with steps_offset, "trailing", "linspace"). */
    @Override
    public void setTimesteps(int numInferenceSteps) {
        this.timesteps = DDIMScheduler.spacedTimesteps(config, numInferenceSteps);
    }

    @Override
    public float[] timesteps() {
        return Numpy.asFloat32(timesteps);
    }

    /** The timesteps as diffusers' int64 tensor holds them. */
    public long[] integerTimesteps() {
        return timesteps.clone();
    }

    /** previous_timestep: the next inference timestep, -1 after the last (diffusers' "previous" in the chain). */
    public long previousTimestep(int stepIndex) {
        requireTimesteps();
        return stepIndex + 1 < timesteps.length ? timesteps[stepIndex + 1] : -1;
    }

    /**
     * One ancestral step from {@code timesteps[stepIndex]} to the next inference timestep: the posterior mean
     * {@code pred_original_sample_coeff * x0 + current_sample_coeff * x_t}, plus {@code sqrt(variance)} times
     * {@code noise.draw(stepIndex, ...)} when the timestep is above 0 (only then is noise drawn).
     */
    @Override
    public SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise) {
        requireTimesteps();
        int t = Math.toIntExact(timesteps[stepIndex]);
        long prevT = previousTimestep(stepIndex);
        // 1. alphas and betas; alpha-bar is 1 before the first training step ("one").
        float alphaProdT = schedule.alphaCumprod(t);
        float alphaProdPrev = prevT >= 0 ? schedule.alphaCumprod(Math.toIntExact(prevT)) : 1.0f;
        float betaProdT = 1f - alphaProdT;
        float betaProdPrev = 1f - alphaProdPrev;
        float currentAlphaT = alphaProdT / alphaProdPrev;
        float currentBetaT = 1f - currentAlphaT;
        // 2.-3. predicted x0 (formula (15)), clipped when configured.
        float sqrtAlpha = (float) Math.sqrt(alphaProdT);
        float sqrtBeta = (float) Math.sqrt(betaProdT);
        NDArray predOriginal = Scopes.run(() -> {
            NDArray x0 = ModelOutputs.originalSample(config.predictionType(), modelOutput, sample, sqrtAlpha, sqrtBeta);
            return config.clipSample() ? x0.clip(-config.clipSampleRange(), config.clipSampleRange()) : x0;
        });
        // 4.-5. the posterior mean (formula (7)).
        float predOriginalCoeff = ((float) Math.sqrt(alphaProdPrev) * currentBetaT) / betaProdT;
        float currentSampleCoeff = (float) Math.sqrt(currentAlphaT) * betaProdPrev / betaProdT;
        // 6. fixed_small: the posterior variance, clamped.
        float variance = Math.max((1f - alphaProdPrev) / (1f - alphaProdT) * currentBetaT, MIN_VARIANCE);
        float std = (float) Math.sqrt(variance);
        NDArray prev = Scopes.run(() -> {
            NDArray mean = predOriginal.mul(predOriginalCoeff).add(sample.mul(currentSampleCoeff));
            if (t == 0) {
                return mean;
            }
            return mean.add(noise.draw(stepIndex, modelOutput).mul(std));
        });
        return new SchedulerOutput(prev, predOriginal);
    }

    private void requireTimesteps() {
        if (timesteps.length == 0) {
            throw new IllegalStateException("call setTimesteps before step");
        }
    }

    /** add_noise: sqrt(a_t) x0 + sqrt(1 - a_t) noise, item b at timesteps[b]. */
    public NDArray addNoise(NDArray original, NDArray noise, long[] timesteps) {
        return combine(original, sqrtAlpha(timesteps), noise, sqrtOneMinusAlpha(timesteps));
    }

    /** get_velocity, the v-prediction target: sqrt(a_t) noise - sqrt(1 - a_t) x0. */
    public NDArray getVelocity(NDArray original, NDArray noise, long[] timesteps) {
        float[] minus = sqrtOneMinusAlpha(timesteps);
        for (int i = 0; i < minus.length; i++) {
            minus[i] = -minus[i];
        }
        return combine(noise, sqrtAlpha(timesteps), original, minus);
    }

    /** What the UNet should output for these inputs under the config's prediction type (the training target). */
    public NDArray target(NDArray original, NDArray noise, long[] timesteps) {
        return switch (config.predictionType()) {
            case EPSILON -> noise.duplicate();
            case V_PREDICTION -> getVelocity(original, noise, timesteps);
            case SAMPLE -> original.duplicate();
        };
    }

    /** As {@link #addNoise(NDArray, NDArray, long[])} with the timesteps in an integer tensor. */
    public NDArray addNoise(NDArray original, NDArray noise, NDArray timesteps) {
        return addNoise(original, noise, timesteps.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray());
    }

    public NDArray getVelocity(NDArray original, NDArray noise, NDArray timesteps) {
        return getVelocity(original, noise, timesteps.toType(ai.djl.ndarray.types.DataType.INT64, false).toLongArray());
    }

    private float[] sqrtAlpha(long[] timesteps) {
        float[] out = new float[timesteps.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) Math.sqrt(schedule.alphaCumprod(Math.toIntExact(timesteps[i])));
        }
        return out;
    }

    private float[] sqrtOneMinusAlpha(long[] timesteps) {
        float[] out = new float[timesteps.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = (float) Math.sqrt(1f - schedule.alphaCumprod(Math.toIntExact(timesteps[i])));
        }
        return out;
    }

    /** a[b] * x + c[b] * y with one coefficient per batch item, broadcast over the other axes. */
    private static NDArray combine(NDArray x, float[] a, NDArray y, float[] c) {
        long batch = x.getShape().get(0);
        if (a.length != batch) {
            throw new IllegalArgumentException(a.length + " timesteps for a batch of " + batch);
        }
        if (!x.getShape().equals(y.getShape())) {
            throw new IllegalArgumentException("shapes differ: " + x.getShape() + " and " + y.getShape());
        }
        long[] dims = new long[x.getShape().dimension()];
        java.util.Arrays.fill(dims, 1);
        dims[0] = batch;
        Shape coeffShape = new Shape(dims);
        return Scopes.run(() -> {
            NDArray ca = x.getManager().create(a, coeffShape).toType(x.getDataType(), false);
            NDArray cc = x.getManager().create(c, coeffShape).toType(x.getDataType(), false);
            return x.mul(ca).add(y.mul(cc));
        });
    }
}
