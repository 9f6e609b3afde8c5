package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Scopes;

/**
 * diffusers 0.27's {@code DPMSolverMultistepScheduler} with {@code algorithm_type="dpmsolver++"} (Lu et al. 2022,
 * "DPM-Solver++"): a second-order multistep solver of the probability-flow ODE in log-SNR time
 * lambda = log(alpha / sigma), built on the model's x0 estimate. Each step after the first uses the previous
 * step's x0 estimate as well; the last step (to sigma 0 by default) is first order, which is DDIM's update.
 *
 * <p>Steps must be taken in order, 0, 1, 2, ...; step 0 starts a new run. The previous x0 estimate is kept on the
 * Java heap (one latent's worth of floats), not as a tensor, so that a caller closing each step's NDManager cannot
 * pull it away.
 */
public final class DPMSolverMultistepScheduler implements SamplingScheduler {
    private final SchedulerConfig config;
    private final SchedulerConfig.MultistepOptions options;
    private final float[] trainSigmas;
    private long[] timesteps = new long[0];
    private float[] sigmas = new float[0];
    private int nextStep;
    private float[] previousX0;
    private Shape previousShape;

    public DPMSolverMultistepScheduler(SchedulerConfig config) {
        this.config = config;
        this.options = config.multistep();
        this.trainSigmas = NoiseSchedule.trainSigmas(config);
    }

    @Override
    public SchedulerConfig config() {
        return config;
    }

    /**
     * DPM-Solver's spacing differs from DDIM's: "linspace" and "leading" lay out n + 1 points and drop the last
     * (so the smallest timestep is not 0); "trailing" is DDIM's.
     */
    @Override
    public void setTimesteps(int n) {
        int trainSteps = config.requireInferenceSteps(n);
        long[] ts = new long[n];
        switch (config.timestepSpacing()) {
            case LINSPACE -> {
                double[] points = Numpy.linspace(0, trainSteps - 1, n + 1);
                for (int k = 0; k < n; k++) {
                    ts[k] = (long) Math.rint(points[n - k]);
                }
            }
            case LEADING -> {
                int ratio = trainSteps / (n + 1);
                for (int k = 0; k < n; k++) {
                    ts[k] = (long) (n - k) * ratio + config.stepsOffset();
                }
            }
            case TRAILING -> ts = DDIMScheduler.spacedTimesteps(config, n);
        }
        float[] s = new float[n + 1];
        for (int k = 0; k < n; k++) {
            s[k] = trainSigmas[Math.toIntExact(ts[k])];
        }
        s[n] = options.finalSigmaZero() ? 0f : trainSigmas[0];
        this.timesteps = ts;
        this.sigmas = s;
        this.nextStep = 0;
        this.previousX0 = null;
    }

    @Override
    public float[] timesteps() {
        return Numpy.asFloat32(timesteps);
    }

    public long[] integerTimesteps() {
        return timesteps.clone();
    }

    /** The n + 1 sigmas sqrt((1 - a) / a) of the chosen timesteps, then the final one. */
    public float[] sigmas() {
        return sigmas.clone();
    }

    @Override
    public SchedulerOutput step(NDArray modelOutput, int stepIndex, NDArray sample, StepNoise noise) {
        if (sigmas.length == 0) {
            throw new IllegalStateException("call setTimesteps before step");
        }
        if (stepIndex == 0) {
            nextStep = 0;
            previousX0 = null;
        }
        if (stepIndex != nextStep) {
            throw new IllegalStateException("DPM-Solver steps must run in order: expected step " + nextStep
                    + ", got " + stepIndex);
        }
        int n = timesteps.length;
        Point s0 = point(sigmas[stepIndex]);
        Point t = point(sigmas[stepIndex + 1]);
        float h = t.lambda - s0.lambda;
        // exp(-h) - 1; at a final sigma of 0, h is +inf and this is -1, so the step returns x0 itself.
        float phi = (float) Math.exp(-h) - 1f;
        boolean lowerOrderFinal = stepIndex == n - 1
                && (options.eulerAtFinal() || (options.lowerOrderFinal() && n < 15) || options.finalSigmaZero());
        boolean firstOrder = options.solverOrder() == 1 || previousX0 == null || lowerOrderFinal;

        NDArray x0 = Scopes.run(() -> ModelOutputs.originalSample(config.predictionType(), modelOutput, sample,
                s0.alpha, s0.sigma));
        NDArray prev = Scopes.run(() -> {
            NDArray linear = sample.mul(t.sigma / s0.sigma).sub(x0.mul(t.alpha * phi));
            if (firstOrder) {
                return linear;
            }
            Point s1 = point(sigmas[stepIndex - 1]);
            float r0 = (s0.lambda - s1.lambda) / h;
            NDArray previous = sample.getManager().create(previousX0, previousShape).toType(x0.getDataType(), false);
            NDArray d1 = x0.sub(previous).mul(1f / r0);
            float d1Scale = options.midpoint() ? -0.5f * (t.alpha * phi) : t.alpha * (phi / h + 1f);
            return linear.add(d1.mul(d1Scale));
        });
        previousX0 = x0.toType(DataType.FLOAT32, false).toFloatArray();
        previousShape = x0.getShape();
        nextStep = stepIndex + 1;
        return new SchedulerOutput(prev, x0);
    }

    /** alpha_t = 1 / sqrt(sigma^2 + 1), sigma_t = sigma * alpha_t and lambda = log(alpha_t) - log(sigma_t), in float32. */
    private static Point point(float sigma) {
        float alpha = 1f / (float) Math.sqrt(sigma * sigma + 1f);
        float sigmaT = sigma * alpha;
        float lambda = (float) Math.log(alpha) - (float) Math.log(sigmaT);
        return new Point(alpha, sigmaT, lambda);
    }

    private record Point(float alpha, float sigma, float lambda) {
    }
}
