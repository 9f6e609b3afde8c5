package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.util.stream.Stream;

import static dev.selectune.diffusion.GoldenCase.COMPONENT;
import static dev.selectune.diffusion.GoldenCase.assertClose;
import static dev.selectune.diffusion.GoldenCase.tolerance;
import static dev.selectune.diffusion.schedulers.SchedulerTesting.config;
import static dev.selectune.diffusion.schedulers.SchedulerTesting.gaussianTrajectoryError;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * DPM-Solver++ has no golden; it is checked against what it must reduce to and against an ODE with a known
 * solution: first order it is DDIM, and second order it must track the exact probability-flow trajectory of
 * Gaussian data far better than first order does.
 */
@ExtendWith(SchedulerTesting.GradOff.class)
class DPMSolverMultistepSchedulerTest {
    private static final String SD = "{\"_class_name\": \"DPMSolverMultistepScheduler\", \"beta_schedule\": \"scaled_linear\","
            + " \"beta_start\": 0.00085, \"beta_end\": 0.012, \"num_train_timesteps\": 1000, \"steps_offset\": 1}";

    /** np.linspace(0, 999, n+1).round()[::-1][:-1] and (arange(n+1) * (1000 // (n+1)))[::-1][:-1] + 1, from numpy. */
    @Test
    void timestepsFollowDiffusersSpacing() {
        DPMSolverMultistepScheduler linspace = new DPMSolverMultistepScheduler(config(SD, "timestep_spacing", "\"linspace\""));
        linspace.setTimesteps(20);
        assertArrayEquals(new long[] {999, 949, 899, 849, 799, 749, 699, 649, 599, 549, 500, 450, 400, 350, 300, 250,
                200, 150, 100, 50}, linspace.integerTimesteps());
        DPMSolverMultistepScheduler leading = new DPMSolverMultistepScheduler(config(SD, "timestep_spacing", "\"leading\""));
        leading.setTimesteps(25);
        assertArrayEquals(new long[] {951, 913, 875, 837, 799, 761, 723, 685, 647, 609, 571, 533, 495, 457, 419, 381,
                343, 305, 267, 229, 191, 153, 115, 77, 39}, leading.integerTimesteps());
        float[] sigmas = leading.sigmas();
        assertTrue(sigmas[25] == 0f && sigmas[24] > 0f, "final_sigmas_type 'zero' appends 0");
    }

    /**
     * First-order DPM-Solver++ is DDIM (eta 0) written in log-SNR time. With "trailing" spacing both visit the same
     * timesteps, and with final_sigmas_type "sigma_min" both end at alphas_cumprod[0], so the whole trajectory must
     * agree with the DDIM scheduler (itself checked against the golden) for each case's prediction type.
     */
    @TestFactory
    Stream<DynamicTest> firstOrderIsDdim() {
        return GoldenCase.bundledCases().stream().map(folder -> DynamicTest.dynamicTest(folder.getFileName().toString(), () -> {
            SchedulerConfig base = SchedulerConfig.load(folder.resolve("scheduler/scheduler_config.json"));
            JsonObject dpmJson = new JsonObject();
            dpmJson.addProperty("_class_name", "DPMSolverMultistepScheduler");
            dpmJson.addProperty("beta_schedule", "scaled_linear");
            dpmJson.addProperty("beta_start", base.betaStart());
            dpmJson.addProperty("beta_end", base.betaEnd());
            dpmJson.addProperty("prediction_type", base.predictionType() == SchedulerConfig.PredictionType.V_PREDICTION
                    ? "v_prediction" : "epsilon");
            dpmJson.addProperty("timestep_spacing", "trailing");
            dpmJson.addProperty("solver_order", 1);
            dpmJson.addProperty("final_sigmas_type", "sigma_min");
            DPMSolverMultistepScheduler dpm = new DPMSolverMultistepScheduler(SchedulerConfig.fromJson(dpmJson));
            JsonObject ddimJson = dpmJson.deepCopy();
            ddimJson.addProperty("_class_name", "DDIMScheduler");
            ddimJson.addProperty("clip_sample", false);
            ddimJson.addProperty("set_alpha_to_one", false);
            DDIMScheduler ddim = new DDIMScheduler(SchedulerConfig.fromJson(ddimJson));
            try (GoldenCase golden = GoldenCase.load(folder)) {
                NDArray outputs = golden.get("ddim.model_outputs");
                int n = (int) outputs.getShape().get(0);
                dpm.setTimesteps(n);
                ddim.setTimesteps(n);
                assertArrayEquals(ddim.integerTimesteps(), dpm.integerTimesteps());
                NDArray x = golden.get("ddim.samples").get(0);
                NDArray y = x;
                for (int i = 0; i < n; i++) {
                    SchedulerOutput a = dpm.step(outputs.get(i), i, x);
                    SchedulerOutput b = ddim.step(outputs.get(i), i, y);
                    assertClose("x0 at step " + i, a.predOriginalSample(), b.predOriginalSample(),
                            tolerance(COMPONENT, b.predOriginalSample()));
                    assertClose("sample after step " + i, a.prevSample(), b.prevSample(), tolerance(COMPONENT, b.prevSample()));
                    x = a.prevSample();
                    y = b.prevSample();
                }
            }
        }));
    }

    /**
     * For data x0 ~ N(0, s^2) the exact noise prediction is known in closed form, and the probability-flow ODE keeps
     * x_t / sqrt(a_t s^2 + 1 - a_t) constant. Ten steps of second-order DPM-Solver++ must land (before the final
     * first-order jump to sigma 0) within 0.02 of that exact trajectory and at least 4x closer than first order
     * (numpy, float64: 0.008 against 0.078).
     */
    @Test
    void secondOrderTracksTheExactTrajectoryOfGaussianData() {
        double first = gaussianError(1);
        double second = gaussianError(2);
        assertTrue(second < 0.02, "second-order error " + second);
        assertTrue(first > 4 * second, "first order " + first + " vs second order " + second);
    }

    /** Error after the first n - 1 of 10 steps, against the exact point at the last timestep. */
    private static double gaussianError(int order) {
        DPMSolverMultistepScheduler dpm = new DPMSolverMultistepScheduler(config(SD, "timestep_spacing", "\"linspace\"",
                "solver_order", Integer.toString(order)));
        int n = 10;
        dpm.setTimesteps(n);
        long[] ts = dpm.integerTimesteps();
        return gaussianTrajectoryError(dpm, n - 1, NoiseSchedule.of(dpm.config()).alphaCumprod((int) ts[n - 1]));
    }

    /** A config as diffusers saves it, with its -Infinity literal and the fields of every option. */
    @Test
    void savedDiffusersConfigLoads() {
        SchedulerConfig c = SchedulerConfig.fromJson(JsonParser.parseString("{\"_class_name\": \"DPMSolverMultistepScheduler\","
                + " \"_diffusers_version\": \"0.27.2\", \"algorithm_type\": \"dpmsolver++\", \"beta_end\": 0.012,"
                + " \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"dynamic_thresholding_ratio\": 0.995,"
                + " \"euler_at_final\": false, \"final_sigmas_type\": \"zero\", \"lambda_min_clipped\": -Infinity,"
                + " \"lower_order_final\": true, \"num_train_timesteps\": 1000, \"prediction_type\": \"v_prediction\","
                + " \"sample_max_value\": 1.0, \"solver_order\": 2, \"solver_type\": \"heun\", \"steps_offset\": 1,"
                + " \"thresholding\": false, \"timestep_spacing\": \"linspace\", \"trained_betas\": null,"
                + " \"use_karras_sigmas\": false, \"use_lu_lambdas\": false, \"variance_type\": null}").getAsJsonObject());
        assertTrue(c.multistep().solverOrder() == 2 && !c.multistep().midpoint() && c.multistep().finalSigmaZero());
        assertTrue(c.predictionType() == SchedulerConfig.PredictionType.V_PREDICTION);
    }

    @Test
    void stepsMustRunInOrder() {
        DPMSolverMultistepScheduler dpm = new DPMSolverMultistepScheduler(config(SD));
        dpm.setTimesteps(5);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0.1f, 0.2f});
            dpm.step(x, 0, x);
            assertThrows(IllegalStateException.class, () -> dpm.step(x, 2, x));
        }
    }

    @Test
    void unsupportedVariantsNameTheField() {
        for (String[] bad : new String[][] {{"algorithm_type", "\"sde-dpmsolver++\""}, {"solver_order", "3"},
                {"solver_type", "\"bh2\""}, {"final_sigmas_type", "\"denoise_to_zero\""}, {"variance_type", "\"learned_range\""}}) {
            PipelineException e = assertThrows(PipelineException.class, () -> config(SD, bad[0], bad[1]));
            assertTrue(e.getMessage().contains(bad[0]), e.getMessage());
        }
    }

}
