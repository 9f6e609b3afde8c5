package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Scopes;

/**
 * The training side of diffusers' {@code DDPMScheduler}: noising clean latents at per-item timesteps and the
 * regression target the UNet is trained on. The coefficients are taken from alphas_cumprod in float32 and applied
 * per batch item, so a batch may mix timesteps.
 */
public final class DDPMScheduler {
    private final SchedulerConfig config;
    private final NoiseSchedule schedule;

    public DDPMScheduler(SchedulerConfig config) {
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
    }

    public SchedulerConfig config() {
        return config;
    }

    public NoiseSchedule schedule() {
        return schedule;
    }

    public int numTrainTimesteps() {
        return schedule.numTrainTimesteps();
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
