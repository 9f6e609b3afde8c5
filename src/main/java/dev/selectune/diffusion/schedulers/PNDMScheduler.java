package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.nn.Scopes;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers 0.27's {@code PNDMScheduler} with {@code skip_prk_steps=true} (Liu et al. 2022, "Pseudo Numerical
 * Methods for Diffusion Models"): the PLMS sampler that Stable Diffusion 1.x ships by default. It combines the last
 * up-to-four noise predictions with Adams-Bashforth weights and moves the sample with DDIM's transfer function.
 *
 * <p>Its timesteps repeat the second one ({@code [901, 801, 801, 701, ...]} for 10 steps of SD), so n steps take
 * n + 1 UNet evaluations: the first step is a DDIM step whose noise estimate the second evaluation corrects by
 * averaging (a Heun-like start). Steps must be taken in order; step 0 starts a new run. The kept noise
 * predictions live on the Java heap, not as tensors, so a caller closing each step's NDManager cannot free them.
 */
public final class PNDMScheduler implements SamplingScheduler {
    private final SchedulerConfig config;
    private final NoiseSchedule schedule;
    private final float finalAlphaCumprod;
    private long[] timesteps = new long[0];
    private int stride;
    private int counter;
    private final List<float[]> ets = new ArrayList<>();
    private float[] curSample;
    private Shape shape;

    public PNDMScheduler(SchedulerConfig config) {
        if (!config.multistep().skipPrkSteps()) {
            throw new PipelineException("scheduler config field skip_prk_steps=false (PNDM's Runge-Kutta warm-up) is not "
                    + "supported; Stable Diffusion configs set it to true");
        }
        if (config.predictionType() == SchedulerConfig.PredictionType.SAMPLE) {
            throw new PipelineException("scheduler config field prediction_type='sample' is not supported by PNDM");
        }
        this.config = config;
        this.schedule = NoiseSchedule.of(config);
        this.finalAlphaCumprod = config.setAlphaToOne() ? 1.0f : schedule.alphaCumprod(0);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    /** n + 1 timesteps: the spaced ones in descending order with the second repeated (just one for n = 1). */
    @Override
    public void setTimesteps(int n) {
        long[] spaced = DDIMScheduler.spacedTimesteps(config, n);
        if (n == 1) {
            this.timesteps = spaced;
        } else {
            long[] plms = new long[n + 1];
            plms[0] = spaced[0];
            System.arraycopy(spaced, 1, plms, 1, 1);
            System.arraycopy(spaced, 1, plms, 2, n - 1);
            this.timesteps = plms;
        }
        this.stride = config.numTrainTimesteps() / n;
        this.counter = 0;
        this.ets.clear();
        this.curSample = null;
    }

    @Override
    public float[] timesteps() {
        return Numpy.asFloat32(timesteps);
    }

    public long[] integerTimesteps() {
        return timesteps.clone();
    }

    /**
     * {@code step_plms}. The returned x0 is the one implied by the combined noise estimate (PNDM itself reports
     * none).
     */
    @Override
    public SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise) {
        if (timesteps.length == 0) {
            throw new IllegalStateException("call setTimesteps before step");
        }
        if (stepIndex == 0) {
            counter = 0;
            ets.clear();
            curSample = null;
        }
        if (stepIndex != counter) {
            throw new IllegalStateException("PNDM steps must run in order: expected step " + counter + ", got " + stepIndex);
        }
        DataType dtype = modelOutput.getDataType();
        shape = modelOutput.getShape();
        float[] output = modelOutput.toType(DataType.FLOAT32, false).toFloatArray();
        long t = timesteps[stepIndex];
        long prevT = t - stride;
        if (counter != 1) {
            while (ets.size() > 3) {
                ets.remove(0);
            }
            ets.add(output);
        } else {
            // The second evaluation redoes the first step, from the same sample, with the averaged estimate.
            prevT = t;
            t = t + stride;
        }
        NDArray from = sample;
        float[] combined;
        int k = ets.size();
        if (k == 1 && counter == 0) {
            combined = output;
            curSample = sample.toType(DataType.FLOAT32, false).toFloatArray();
        } else if (k == 1 && counter == 1) {
            combined = combine(output, ets.get(0), (a, b, c, d) -> (a + b) / 2);
            from = sample.getManager().create(curSample, shape).toType(dtype, false);
            curSample = null;
        } else if (k == 2) {
            combined = combine(ets.get(1), ets.get(0), (a, b, c, d) -> (3 * a - b) / 2);
        } else if (k == 3) {
            combined = combine(ets.get(2), ets.get(1), ets.get(0), (a, b, c, d) -> (23 * a - 16 * b + 5 * c) / 12);
        } else {
            float oneOver24 = (float) (1.0 / 24);
            combined = combine(ets.get(3), ets.get(2), ets.get(1), ets.get(0),
                    (a, b, c, d) -> oneOver24 * (55 * a - 59 * b + 37 * c - 9 * d));
        }
        counter++;
        NDArray combinedOutput = sample.getManager().create(combined, shape).toType(dtype, false);
        return transfer(from, Math.toIntExact(t), prevT, combinedOutput);
    }

    /** The Adams-Bashforth combinations, element by element in float32 as torch evaluates them. */
    private interface Combination {
        float apply(float a, float b, float c, float d);
    }

    private static float[] combine(float[] a, float[] b, Combination f) {
        return combine(a, b, b, b, f);
    }

    private static float[] combine(float[] a, float[] b, float[] c, Combination f) {
        return combine(a, b, c, c, f);
    }

    private static float[] combine(float[] a, float[] b, float[] c, float[] d, Combination f) {
        float[] out = new float[a.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = f.apply(a[i], b[i], c[i], d[i]);
        }
        return out;
    }

    /**
     * PNDM's {@code _get_prev_sample}, DDIM's eta = 0 update written as one expression:
     * x_prev = sqrt(a'/a) x - (a' - a) eps / (a sqrt(1 - a') + sqrt(a (1 - a) a')).
     */
    private SchedulerOutput transfer(NDArray sample, int t, long prevT, NDArray modelOutput) {
        float alpha = schedule.alphaCumprod(t);
        // v-prediction: the combined v becomes a noise estimate with this step's sample and timestep.
        NDArray eps = config.predictionType() == SchedulerConfig.PredictionType.V_PREDICTION
                ? Scopes.run(() -> ModelOutputs.epsilon(config.predictionType(), modelOutput, sample, null,
                        (float) Math.sqrt(alpha), (float) Math.sqrt(1f - alpha)))
                : modelOutput;
        float alphaPrev = prevT >= 0 ? schedule.alphaCumprod(Math.toIntExact(prevT)) : finalAlphaCumprod;
        float beta = 1f - alpha;
        float betaPrev = 1f - alphaPrev;
        float sampleCoeff = (float) Math.sqrt(alphaPrev / alpha);
        float denominator = alpha * (float) Math.sqrt(betaPrev) + (float) Math.sqrt(alpha * beta * alphaPrev);
        NDArray prev = Scopes.run(() -> sample.mul(sampleCoeff).sub(eps.mul(alphaPrev - alpha).div(denominator)));
        NDArray x0 = Scopes.run(() -> ModelOutputs.originalSample(SchedulerConfig.PredictionType.EPSILON, eps, sample,
                (float) Math.sqrt(alpha), (float) Math.sqrt(beta)));
        return new SchedulerOutput(prev, x0);
    }
}
