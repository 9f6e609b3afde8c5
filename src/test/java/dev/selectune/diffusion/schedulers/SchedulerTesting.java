package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.nn.Autograd;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;

/** What the scheduler tests share: grad mode off, configs from JSON, and the Gaussian-data ODE check. */
final class SchedulerTesting {
    private SchedulerTesting() {
    }

    /** {@code @ExtendWith(SchedulerTesting.GradOff.class)}: schedulers run inference only; grad mode back after. */
    static final class GradOff implements BeforeAllCallback, AfterAllCallback {
        private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(GradOff.class);

        @Override
        public void beforeAll(ExtensionContext context) {
            context.getStore(NAMESPACE).put("previous", Autograd.isEnabled());
            Autograd.setEnabled(false);
        }

        @Override
        public void afterAll(ExtensionContext context) {
            Autograd.setEnabled(context.getStore(NAMESPACE).get("previous", Boolean.class));
        }
    }

    /** {@code json} with some fields replaced: name, JSON value, name, JSON value, ... */
    static SchedulerConfig config(String json, String... overrides) {
        JsonObject o = JsonParser.parseString(json).getAsJsonObject();
        for (int i = 0; i < overrides.length; i += 2) {
            o.add(overrides[i], JsonParser.parseString(overrides[i + 1]));
        }
        return SchedulerConfig.fromJson(o);
    }

    /**
     * For data x0 ~ N(0, s^2) with s = 0.5 the exact noise prediction is known in closed form, and the
     * probability-flow ODE keeps x_t / sqrt(a_t s^2 + 1 - a_t) constant. Starts on that trajectory at the sampler's
     * first timestep (after {@code setTimesteps}), takes the first {@code steps} steps with the exact noise
     * prediction, and returns the largest distance from the exact point at alpha-bar {@code endAlphaCumprod}.
     */
    static double gaussianTrajectoryError(SamplingScheduler sampler, int steps, double endAlphaCumprod) {
        double s = 0.5;
        float[] z = {1f, -2f, 0.3f};
        NoiseSchedule schedule = NoiseSchedule.of(sampler.config());
        float[] ts = sampler.timesteps();
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(scaled(z, std(schedule.alphaCumprod((int) ts[0]), s)));
            for (int i = 0; i < steps; i++) {
                double a = schedule.alphaCumprod((int) ts[i]);
                // Exact denoiser D = sqrt(a) s^2 x / (a s^2 + 1 - a); eps = (x - sqrt(a) D) / sqrt(1 - a).
                double c = (1 - a * s * s / (a * s * s + 1 - a)) / Math.sqrt(1 - a);
                x = sampler.step(x.mul((float) c), i, x).prevSample();
            }
            float[] got = x.toFloatArray();
            float[] exact = scaled(z, std(endAlphaCumprod, s));
            double worst = 0;
            for (int i = 0; i < z.length; i++) {
                worst = Math.max(worst, Math.abs(got[i] - exact[i]));
            }
            return worst;
        }
    }

    private static double std(double alphaCumprod, double s) {
        return Math.sqrt(alphaCumprod * s * s + 1 - alphaCumprod);
    }

    private static float[] scaled(float[] z, double factor) {
        float[] out = new float[z.length];
        for (int i = 0; i < z.length; i++) {
            out[i] = (float) (z[i] * factor);
        }
        return out;
    }
}
