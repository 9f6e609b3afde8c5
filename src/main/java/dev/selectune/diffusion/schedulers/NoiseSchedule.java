package dev.selectune.diffusion.schedulers;

/**
 * The forward-process schedule shared by every scheduler: betas, alphas = 1 - betas and their cumulative product,
 * computed in float32 as diffusers 0.27 does on an x86 CPU, to the bit (checked against the goldens): torch's
 * linspace kernel as it runs there (below), the square of the scaled_linear schedule in float32, and cumprod
 * accumulated in double and rounded per element, as torch's CPU kernel does. The last bit matters little for
 * sampling, but it makes the golden comparison exact rather than approximate.
 */
public final class NoiseSchedule {
    private final float[] betas;
    private final float[] alphasCumprod;

    private NoiseSchedule(float[] betas, float[] alphasCumprod) {
        this.betas = betas;
        this.alphasCumprod = alphasCumprod;
    }

    public static NoiseSchedule of(SchedulerConfig config) {
        int n = config.numTrainTimesteps();
        float[] betas;
        if (config.trainedBetas() != null) {
            betas = new float[n];
            for (int i = 0; i < n; i++) {
                betas[i] = (float) config.trainedBetas()[i];
            }
        } else {
            betas = switch (config.betaSchedule()) {
                case LINEAR -> linspace((float) config.betaStart(), (float) config.betaEnd(), n);
                case SCALED_LINEAR -> {
                    // Stable Diffusion's schedule: linear in sqrt(beta), squared in float32.
                    float[] roots = linspace((float) Math.sqrt(config.betaStart()), (float) Math.sqrt(config.betaEnd()), n);
                    for (int i = 0; i < n; i++) {
                        roots[i] = roots[i] * roots[i];
                    }
                    yield roots;
                }
                case SQUAREDCOS_CAP_V2 -> cosineBetas(n);
            };
        }
        if (config.rescaleBetasZeroSnr()) {
            betas = rescaleZeroTerminalSnr(betas);
        }
        return new NoiseSchedule(betas, cumprod(betas));
    }

    public float[] betas() {
        return betas.clone();
    }

    public float[] alphasCumprod() {
        return alphasCumprod.clone();
    }

    /**
     * The k-diffusion sigmas sqrt((1 - a_t) / a_t) of every training timestep, in float32, as Euler and DPM-Solver
     * set them up. A zero terminal alpha-bar (rescale_betas_zero_snr) would make the last sigma infinite; diffusers
     * uses 2^-24 there instead.
     */
    public static float[] trainSigmas(SchedulerConfig config) {
        float[] alphasCumprod = of(config).alphasCumprod();
        if (config.rescaleBetasZeroSnr()) {
            alphasCumprod[alphasCumprod.length - 1] = (float) Math.pow(2, -24);
        }
        float[] sigmas = new float[alphasCumprod.length];
        for (int i = 0; i < sigmas.length; i++) {
            sigmas[i] = (float) Math.sqrt((1f - alphasCumprod[i]) / alphasCumprod[i]);
        }
        return sigmas;
    }

    /** alphas_cumprod[t] (the signal fraction alpha-bar at training timestep t). */
    public float alphaCumprod(int t) {
        if (t < 0 || t >= alphasCumprod.length) {
            throw new IndexOutOfBoundsException("timestep " + t + " outside [0, " + alphasCumprod.length + ")");
        }
        return alphasCumprod[t];
    }

    public int numTrainTimesteps() {
        return alphasCumprod.length;
    }

    /**
     * torch.linspace for float32 as its AVX2 CPU kernel computes it: values are counted from {@code start} below the
     * halfway index and from {@code end} above it; vectors of 8 start at a fused multiply-add base
     * ({@code fma(step, i, start)} or {@code fma(-step, steps-1-i, end)}) and add {@code k * step} for their lanes;
     * the tail past the last pair of vectors is computed element by element.
     */
    static float[] linspace(float start, float end, int steps) {
        float[] out = new float[steps];
        if (steps == 1) {
            out[0] = start;
            return out;
        }
        float step = (end - start) / (steps - 1);
        int halfway = steps / 2;
        int lanes = 8;
        int vectorized = steps / (2 * lanes) * (2 * lanes);
        for (int chunk = 0; chunk < vectorized; chunk += lanes) {
            float base = fromNearerEnd(start, end, step, chunk, steps, halfway);
            for (int k = 0; k < lanes; k++) {
                out[chunk + k] = k == 0 ? base : base + k * step;
            }
        }
        for (int i = vectorized; i < steps; i++) {
            out[i] = fromNearerEnd(start, end, step, i, steps, halfway);
        }
        return out;
    }

    private static float fromNearerEnd(float start, float end, float step, int i, int steps, int halfway) {
        return i < halfway ? Math.fma(step, (float) i, start) : Math.fma(-step, (float) (steps - i - 1), end);
    }

    /** betas_for_alpha_bar with the cosine alpha-bar (Nichol & Dhariwal), computed in double, capped at 0.999. */
    private static float[] cosineBetas(int n) {
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            double t1 = (double) i / n;
            double t2 = (double) (i + 1) / n;
            out[i] = (float) Math.min(1 - alphaBar(t2) / alphaBar(t1), 0.999);
        }
        return out;
    }

    private static double alphaBar(double t) {
        double c = Math.cos((t + 0.008) / 1.008 * Math.PI / 2);
        return c * c;
    }

    /** alphas_cumprod = cumprod(1 - betas) in float32 values, accumulated in double like torch's CPU kernel. */
    private static float[] cumprod(float[] betas) {
        float[] out = new float[betas.length];
        double acc = 1.0;
        for (int i = 0; i < betas.length; i++) {
            acc *= (float) (1.0f - betas[i]);
            out[i] = (float) acc;
        }
        return out;
    }

    /** diffusers' rescale_zero_terminal_snr (Lin et al. 2023): shift and scale sqrt(alpha-bar) so the last is 0. */
    private static float[] rescaleZeroTerminalSnr(float[] betas) {
        int n = betas.length;
        float[] cum = cumprod(betas);
        float[] sqrt = new float[n];
        for (int i = 0; i < n; i++) {
            sqrt[i] = (float) Math.sqrt(cum[i]);
        }
        float first = sqrt[0];
        float last = sqrt[n - 1];
        float scale = first / (first - last);
        float[] alphaBar = new float[n];
        for (int i = 0; i < n; i++) {
            float s = (sqrt[i] - last) * scale;
            alphaBar[i] = s * s;
        }
        float[] out = new float[n];
        out[0] = 1 - alphaBar[0];
        for (int i = 1; i < n; i++) {
            out[i] = 1 - alphaBar[i] / alphaBar[i - 1];
        }
        return out;
    }
}
