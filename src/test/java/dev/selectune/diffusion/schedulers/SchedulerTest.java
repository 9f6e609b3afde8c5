package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import static dev.selectune.diffusion.GoldenCase.COMPONENT;
import static dev.selectune.diffusion.GoldenCase.assertClose;
import static dev.selectune.diffusion.GoldenCase.tolerance;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Schedulers against the golden {@code sched.*}, {@code ddpm.*} and {@code ddim.*} entries of every bundled case
 * (diffusers 0.27), and Euler against values derived independently (no golden exists for it).
 */
@ExtendWith(SchedulerTesting.GradOff.class)
class SchedulerTest {
    /** Stable Diffusion's schedule as its checkpoints configure it. */
    private static final String SD_CONFIG = "{\"_class_name\": \"EulerDiscreteScheduler\", \"beta_schedule\": \"scaled_linear\","
            + " \"beta_start\": 0.00085, \"beta_end\": 0.012, \"num_train_timesteps\": 1000, \"steps_offset\": 1,"
            + " \"timestep_spacing\": \"leading\", \"prediction_type\": \"epsilon\", \"clip_sample\": false}";

    @TestFactory
    Stream<DynamicNode> goldenCases() {
        return GoldenCase.bundledCases().stream().map(folder -> DynamicContainer.dynamicContainer(
                folder.getFileName().toString(), Stream.of(
                        DynamicTest.dynamicTest("sched.betas and sched.alphas_cumprod", () -> checkSchedule(folder)),
                        DynamicTest.dynamicTest("ddpm.noisy_samples and ddpm.velocity", () -> checkDdpm(folder)),
                        DynamicTest.dynamicTest("ddim.timesteps, samples, pred_original_samples", () -> checkDdim(folder)),
                        DynamicTest.dynamicTest("euler reproduces the ddim trajectory in sigma units", () -> checkEulerAgainstDdim(folder)))));
    }

    private static SchedulerConfig config(Path folder) {
        return SchedulerConfig.load(folder.resolve("scheduler/scheduler_config.json"));
    }

    private static void checkSchedule(Path folder) {
        NoiseSchedule schedule = NoiseSchedule.of(config(folder));
        try (GoldenCase golden = GoldenCase.load(folder)) {
            float[] betas = golden.floats("sched.betas");
            float[] alphasCumprod = golden.floats("sched.alphas_cumprod");
            assertClose("sched.betas", schedule.betas(), betas, COMPONENT);
            assertClose("sched.alphas_cumprod", schedule.alphasCumprod(), alphasCumprod, COMPONENT);
            // "Exactly as diffusers": the float32 values agree to the last bit with the torch 1.13 that made the
            // original cases (tiny-sdxl's torch 2.13 linspace differs by one ulp in a few betas).
            if (golden.json().getAsJsonObject("versions").get("torch").getAsString().startsWith("1.13")) {
                assertArrayEquals(betas, schedule.betas(), "betas bit for bit");
                assertArrayEquals(alphasCumprod, schedule.alphasCumprod(), "alphas_cumprod bit for bit");
            }
        }
    }

    private static void checkDdpm(Path folder) {
        SchedulerConfig config = config(folder);
        DDPMScheduler ddpm = Schedulers.forTraining(config);
        try (GoldenCase golden = GoldenCase.load(folder)) {
            NDArray x0 = golden.get("ddpm.original_samples");
            NDArray noise = golden.get("ddpm.noise");
            long[] t = golden.longs("ddpm.timesteps");
            golden.assertComponent("ddpm.noisy_samples", ddpm.addNoise(x0, noise, t));
            golden.assertComponent("ddpm.velocity", ddpm.getVelocity(x0, noise, golden.get("ddpm.timesteps")));
            NDArray target = ddpm.target(x0, noise, t);
            golden.assertComponent(config.predictionType() == SchedulerConfig.PredictionType.V_PREDICTION
                    ? "ddpm.velocity" : "ddpm.noise", target);
        }
    }

    private static void checkDdim(Path folder) {
        // The golden ddim.* entries are a DDIMScheduler built from the case's config, whatever class it names.
        DDIMScheduler ddim = new DDIMScheduler(config(folder));
        try (GoldenCase golden = GoldenCase.load(folder)) {
            long[] expectedTimesteps = golden.longs("ddim.timesteps");
            ddim.setTimesteps(expectedTimesteps.length);
            assertArrayEquals(expectedTimesteps, ddim.integerTimesteps(), "ddim.timesteps");
            NDArray outputs = golden.get("ddim.model_outputs");
            NDArray samples = golden.get("ddim.samples");
            NDArray predOriginal = golden.get("ddim.pred_original_samples");
            NDArray chained = samples.get(0);
            for (int i = 0; i < expectedTimesteps.length; i++) {
                NDArray expectedNext = samples.get(i + 1);
                double tol = tolerance(COMPONENT, expectedNext);
                // One step from the reference's own sample, then the whole trajectory chained on our outputs.
                SchedulerOutput single = ddim.step(outputs.get(i), i, samples.get(i));
                assertClose("ddim.samples[" + (i + 1) + "] (single step)", single.prevSample(), expectedNext, tol);
                assertClose("ddim.pred_original_samples[" + i + "]", single.predOriginalSample(), predOriginal.get(i),
                        tolerance(COMPONENT, predOriginal.get(i)));
                chained = ddim.stepFromTimestep(outputs.get(i), expectedTimesteps[i], chained).prevSample();
                assertClose("ddim.samples[" + (i + 1) + "] (chained)", chained, expectedNext, tol);
            }
        }
    }

    /**
     * Euler with s_churn = 0 is DDIM in sigma units: x_euler = x_ddim / sqrt(a_t) = x_ddim * sqrt(1 + sigma^2), both
     * estimate the same x0, and x_prev = x0 + sigma_prev * eps for both. So fed the golden model outputs, Euler must
     * give ddim.pred_original_samples at every step, and ddim.samples[i+1] * sqrt(1 + sigma_{i+1}^2) at every step
     * but the last (where Euler goes to sigma 0 and DDIM to alphas_cumprod[0]).
     */
    private static void checkEulerAgainstDdim(Path folder) {
        EulerDiscreteScheduler euler = new EulerDiscreteScheduler(config(folder).withClassName("EulerDiscreteScheduler"));
        try (GoldenCase golden = GoldenCase.load(folder)) {
            long[] ddimTimesteps = golden.longs("ddim.timesteps");
            int n = ddimTimesteps.length;
            euler.setTimesteps(n);
            float[] timesteps = euler.timesteps();
            for (int i = 0; i < n; i++) {
                assertEquals(ddimTimesteps[i], timesteps[i], "timestep " + i);
            }
            float[] sigmas = euler.sigmas();
            NDArray outputs = golden.get("ddim.model_outputs");
            NDArray samples = golden.get("ddim.samples");
            NDArray predOriginal = golden.get("ddim.pred_original_samples");
            NDArray x = samples.get(0).mul((float) Math.sqrt(1 + (double) sigmas[0] * sigmas[0]));
            for (int i = 0; i < n; i++) {
                // The UNet input is the DDIM-space sample.
                NDArray unetInput = euler.scaleModelInput(x, i);
                assertClose("scale_model_input[" + i + "]", unetInput, samples.get(i), tolerance(COMPONENT, samples.get(i)));
                SchedulerOutput out = euler.step(outputs.get(i), i, x);
                assertClose("euler x0[" + i + "]", out.predOriginalSample(), predOriginal.get(i),
                        tolerance(COMPONENT, predOriginal.get(i)));
                x = out.prevSample();
                if (i + 1 < n) {
                    NDArray inDdimUnits = x.div((float) Math.sqrt(1 + (double) sigmas[i + 1] * sigmas[i + 1]));
                    assertClose("euler sample[" + (i + 1) + "] in ddim units", inDdimUnits, samples.get(i + 1),
                            tolerance(COMPONENT, samples.get(i + 1)));
                } else {
                    assertEquals(0f, sigmas[n]);
                    assertClose("last euler step lands on x0", x, out.predOriginalSample(), 1e-6);
                }
            }
        }
    }

    /** SD's Euler timesteps and sigmas, recomputed here in double from the golden alphas_cumprod. */
    @Test
    void eulerTimestepsAndSigmasForStableDiffusion() {
        float[] alphasCumprod;
        try (GoldenCase golden = GoldenCase.load(GoldenCase.resource("tiny-sd15"))) {
            alphasCumprod = golden.floats("sched.alphas_cumprod");
        }
        SchedulerConfig leading = SchedulerConfig.fromJson(JsonParser.parseString(SD_CONFIG).getAsJsonObject());
        EulerDiscreteScheduler euler = assertInstanceOf(EulerDiscreteScheduler.class, Schedulers.forSampling(leading));
        euler.setTimesteps(50);
        float[] ts = euler.timesteps();
        assertEquals(981f, ts[0]);
        assertEquals(1f, ts[49]);
        assertEquals(20f, ts[0] - ts[1]);
        float[] sigmas = euler.sigmas();
        assertEquals(51, sigmas.length);
        for (int i = 0; i < 50; i++) {
            double a = alphasCumprod[(int) ts[i]];
            assertEquals(Math.sqrt((1 - a) / a), sigmas[i], 1e-4 * Math.max(1, sigmas[i]), "sigma " + i);
        }
        assertEquals(0f, sigmas[50]);
        double sigmaMax = Math.sqrt((1 - alphasCumprod[981]) / alphasCumprod[981]);
        assertEquals(Math.sqrt(sigmaMax * sigmaMax + 1), euler.initNoiseSigma(), 1e-4 * sigmaMax);

        // Euler's own default spacing, "linspace": fractional timesteps (832.5, ...) and interpolated sigmas.
        JsonObject json = JsonParser.parseString(SD_CONFIG).getAsJsonObject();
        json.remove("timestep_spacing");
        EulerDiscreteScheduler linspace = new EulerDiscreteScheduler(SchedulerConfig.fromJson(json));
        linspace.setTimesteps(7);
        assertArrayEquals(new float[] {999f, 832.5f, 666f, 499.5f, 333f, 166.5f, 0f}, linspace.timesteps());
        float[] s = linspace.sigmas();
        for (int i = 0; i < 7; i++) {
            double t = linspace.timesteps()[i];
            int lo = (int) Math.floor(t);
            int hi = Math.min(lo + 1, 999);
            double sLo = Math.sqrt((1 - (double) alphasCumprod[lo]) / alphasCumprod[lo]);
            double sHi = Math.sqrt((1 - (double) alphasCumprod[hi]) / alphasCumprod[hi]);
            double expected = sLo + (sHi - sLo) * (t - lo);
            assertEquals(expected, s[i], 1e-4 * Math.max(1, expected), "interpolated sigma " + i);
        }
        assertEquals(s[0], linspace.initNoiseSigma(), "linspace: init_noise_sigma is the largest sigma");
    }

    @Test
    void timestepSpacingsMatchNumpy() {
        assertArrayEquals(new long[] {999, 899, 799, 699, 599, 499, 399, 299, 199, 99}, ddimTimesteps("trailing", 0, 10));
        assertArrayEquals(new long[] {999, 856, 713, 570, 428, 285, 142}, ddimTimesteps("trailing", 0, 7));
        // np.round is half-to-even: 832.5 -> 832, 499.5 -> 500, 166.5 -> 166.
        assertArrayEquals(new long[] {999, 832, 666, 500, 333, 166, 0}, ddimTimesteps("linspace", 0, 7));
        assertArrayEquals(new long[] {999, 888, 777, 666, 555, 444, 333, 222, 111, 0}, ddimTimesteps("linspace", 0, 10));
        long[] leading = ddimTimesteps("leading", 1, 50);
        assertEquals(981, leading[0]);
        assertEquals(1, leading[49]);
    }

    private static long[] ddimTimesteps(String spacing, int offset, int n) {
        DDIMScheduler ddim = new DDIMScheduler(SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"_class_name\": \"DDIMScheduler\", \"timestep_spacing\": \"" + spacing + "\", \"steps_offset\": " + offset + "}")
                .getAsJsonObject()));
        ddim.setTimesteps(n);
        return ddim.integerTimesteps();
    }

    /** eta > 0: prev = sqrt(a_prev) x0 + sqrt(1 - a_prev - s^2) eps + s z with s = eta sqrt(var), recomputed in double. */
    @Test
    void ddimWithEtaAddsTheSuppliedNoise() {
        SchedulerConfig config = SchedulerConfig.fromJson(JsonParser.parseString(SD_CONFIG.replace("EulerDiscreteScheduler",
                "DDIMScheduler")).getAsJsonObject());
        DDIMScheduler ddim = new DDIMScheduler(config);
        ddim.setTimesteps(10);
        NoiseSchedule schedule = ddim.schedule();
        try (NDManager m = NDManager.newBaseManager()) {
            float[] xs = {0.5f, -1.25f, 2f};
            float[] eps = {0.1f, 0.3f, -0.7f};
            float[] z = {1f, -2f, 0.25f};
            float eta = 0.8f;
            SchedulerOutput out = ddim.stepFromTimestep(m.create(eps), 501, m.create(xs), eta, m.create(z));
            double a = schedule.alphaCumprod(501);
            double aPrev = schedule.alphaCumprod(401);
            double variance = (1 - aPrev) / (1 - a) * (1 - a / aPrev);
            double s = eta * Math.sqrt(variance);
            float[] prev = out.prevSample().toFloatArray();

            for (int i = 0; i < 3; i++) {
                double x0 = (xs[i] - Math.sqrt(1 - a) * eps[i]) / Math.sqrt(a);
                double expected = Math.sqrt(aPrev) * x0 + Math.sqrt(1 - aPrev - s * s) * eps[i] + s * z[i];
                assertEquals(expected, prev[i], 1e-5, "element " + i);
            }
            assertThrows(IllegalArgumentException.class, () -> ddim.stepFromTimestep(m.create(eps), 501, m.create(xs), eta, null));
        }
    }

    /** A timestep given as an int must not silently resolve to the step-index form. */
    @Test
    void ddimTakesATimestepOnlyUnderItsOwnName() {
        for (java.lang.reflect.Method m : DDIMScheduler.class.getMethods()) {
            if (m.getName().equals("step")) {
                assertEquals(List.of(NDArray.class, int.class, NDArray.class),
                        List.of(m.getParameterTypes()).subList(0, 3), "DDIMScheduler.step takes a step index only: " + m);
            }
        }
    }

    @Test
    void ddimClipsPredictedSampleWhenConfigured() {
        DDIMScheduler ddim = new DDIMScheduler(SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"_class_name\": \"DDIMScheduler\", \"prediction_type\": \"sample\"}").getAsJsonObject()));
        assertTrue(ddim.config().clipSample(), "DDIM clips by default");
        ddim.setTimesteps(4);
        try (NDManager m = NDManager.newBaseManager()) {
            SchedulerOutput out = ddim.step(m.create(new float[] {3f, -0.5f}), 0, m.create(new float[] {0f, 0f}));
            assertArrayEquals(new float[] {1f, -0.5f}, out.predOriginalSample().toFloatArray());
        }
    }

    @Test
    void unsupportedConfigValuesNameTheField() {
        for (String[] bad : List.of(
                new String[] {"{\"beta_schedule\": \"sigmoid\"}", "beta_schedule"},
                new String[] {"{\"prediction_type\": \"flow\"}", "prediction_type"},
                new String[] {"{\"timestep_spacing\": \"karras\"}", "timestep_spacing"},
                new String[] {"{\"thresholding\": true}", "thresholding"},
                new String[] {"{\"_class_name\": \"EulerDiscreteScheduler\", \"use_karras_sigmas\": true}", "use_karras_sigmas"},
                new String[] {"{\"num_train_timesteps\": 10, \"trained_betas\": [0.1, 0.2]}", "trained_betas"})) {
            PipelineException e = assertThrows(PipelineException.class,
                    () -> SchedulerConfig.fromJson(JsonParser.parseString(bad[0]).getAsJsonObject()), bad[0]);
            assertTrue(e.getMessage().contains(bad[1]), e.getMessage());
        }
    }

    @Test
    void samplersForShippedSchedulerClasses() {
        assertInstanceOf(DDIMScheduler.class, sampler("DDIMScheduler"));
        assertInstanceOf(EulerDiscreteScheduler.class, sampler("EulerDiscreteScheduler"));
        // SD 1.5 ships PNDM; SD 2 base and many fine-tunes ship DPM-Solver++; LMS is an older default.
        SamplingScheduler pndm = sampler("PNDMScheduler");
        assertInstanceOf(DDIMScheduler.class, pndm);
        assertTrue(!pndm.config().setAlphaToOne() && !pndm.config().clipSample(), "PNDM's own defaults are kept");
        assertInstanceOf(DPMSolverMultistepScheduler.class, sampler("DPMSolverMultistepScheduler"));
        assertInstanceOf(DDIMScheduler.class, sampler("UniPCMultistepScheduler"));
        assertInstanceOf(DDPMScheduler.class, sampler("DDPMScheduler"));
        assertInstanceOf(EulerDiscreteScheduler.class, sampler("LMSDiscreteScheduler"));
        PipelineException e = assertThrows(PipelineException.class, () -> sampler("FlowMatchEulerDiscreteScheduler"));
        assertTrue(e.getMessage().contains("FlowMatchEulerDiscreteScheduler"), e.getMessage());
    }

    private static SamplingScheduler sampler(String cls) {
        return Schedulers.forSampling(SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"_class_name\": \"" + cls + "\", \"beta_schedule\": \"scaled_linear\"}").getAsJsonObject()));
    }

    @Test
    void trainedBetasAndOtherSchedules() {
        SchedulerConfig trained = SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"num_train_timesteps\": 3, \"trained_betas\": [0.1, 0.2, 0.5]}").getAsJsonObject());
        assertArrayEquals(new float[] {0.1f, 0.2f, 0.5f}, NoiseSchedule.of(trained).betas());
        assertArrayEquals(new float[] {0.9f, 0.9f * 0.8f, 0.9f * 0.8f * 0.5f}, NoiseSchedule.of(trained).alphasCumprod(), 1e-7f);
        NoiseSchedule linear = NoiseSchedule.of(SchedulerConfig.fromJson(new JsonObject()));
        assertEquals(0.0001f, linear.betas()[0]);
        assertEquals(0.02f, linear.betas()[999]);
        NoiseSchedule cosine = NoiseSchedule.of(SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"beta_schedule\": \"squaredcos_cap_v2\"}").getAsJsonObject()));
        // alpha-bar of the cosine schedule is cos^2((t/T + s)/(1 + s) pi/2) / cos^2(s/(1+s) pi/2) up to the 0.999 cap.
        double f0 = Math.pow(Math.cos(0.008 / 1.008 * Math.PI / 2), 2);
        double t500 = Math.pow(Math.cos((0.501 + 0.008) / 1.008 * Math.PI / 2), 2) / f0;
        assertEquals(t500, cosine.alphaCumprod(500), 1e-5);
        // Zero terminal SNR: the last alpha-bar is exactly 0, the first unchanged.
        NoiseSchedule rescaled = NoiseSchedule.of(SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012, \"rescale_betas_zero_snr\": true}")
                .getAsJsonObject()));
        assertEquals(0f, rescaled.alphaCumprod(999));
        assertEquals(1 - 0.00085f, rescaled.alphaCumprod(0), 1e-6);
    }

    @Test
    void vPredictionTargetIsTheVelocity() {
        SchedulerConfig v = SchedulerConfig.fromJson(JsonParser.parseString(
                "{\"prediction_type\": \"v_prediction\", \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012}")
                .getAsJsonObject());
        DDPMScheduler ddpm = new DDPMScheduler(v);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x0 = m.create(new float[] {1f, 2f, 3f, 4f}, new Shape(2, 2));
            NDArray noise = m.create(new float[] {-1f, 0.5f, 0f, 2f}, new Shape(2, 2));
            long[] t = {0, 999};
            float[] target = ddpm.target(x0, noise, t).toFloatArray();
            float[] x = x0.toFloatArray();
            float[] e = noise.toFloatArray();
            for (int i = 0; i < 4; i++) {
                double a = ddpm.schedule().alphaCumprod((int) t[i / 2]);
                assertEquals(Math.sqrt(a) * e[i] - Math.sqrt(1 - a) * x[i], target[i], 1e-6, "element " + i);
            }
            assertEquals(new Shape(2, 2), ddpm.addNoise(x0, noise, t).getShape());
        }
    }
}
