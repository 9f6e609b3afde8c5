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
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * PNDM (PLMS) has no golden; it is checked against its timestep layout (numpy), against DDIM for its first step
 * (the same transfer function), and against the exact probability-flow trajectory of Gaussian data, which its
 * fourth-order multistep must follow far better than DDIM.
 */
@ExtendWith(SchedulerTesting.GradOff.class)
class PNDMSchedulerTest {
    /** Stable Diffusion 1.5's scheduler_config.json. */
    private static final String SD15 = "{\"_class_name\": \"PNDMScheduler\", \"_diffusers_version\": \"0.6.0\","
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085,"
            + " \"num_train_timesteps\": 1000, \"set_alpha_to_one\": false, \"skip_prk_steps\": true,"
            + " \"steps_offset\": 1, \"trained_betas\": null, \"clip_sample\": false}";

    /** concat(ts[:-1], ts[-2:-1], ts[-1:])[::-1] as numpy gives it for 10 steps of each spacing. */
    @Test
    void timestepsRepeatTheSecondOne() {
        PNDMScheduler leading = assertInstanceOf(PNDMScheduler.class, Schedulers.forSampling(config(SD15)));
        leading.setTimesteps(10);
        assertArrayEquals(new long[] {901, 801, 801, 701, 601, 501, 401, 301, 201, 101, 1}, leading.integerTimesteps());
        PNDMScheduler linspace = new PNDMScheduler(config(SD15, "timestep_spacing", "\"linspace\""));
        linspace.setTimesteps(10);
        assertArrayEquals(new long[] {999, 888, 888, 777, 666, 555, 444, 333, 222, 111, 0}, linspace.integerTimesteps());
        PNDMScheduler trailing = new PNDMScheduler(config(SD15, "timestep_spacing", "\"trailing\""));
        trailing.setTimesteps(10);
        assertArrayEquals(new long[] {999, 899, 899, 799, 699, 599, 499, 399, 299, 199, 99}, trailing.integerTimesteps());
        leading.setTimesteps(1);
        assertArrayEquals(new long[] {1}, leading.integerTimesteps());
    }

    /** PNDM's first step is a DDIM step (its transfer function is DDIM's update), for epsilon and v prediction. */
    @TestFactory
    Stream<DynamicTest> firstStepIsDdim() {
        return GoldenCase.bundledCases().stream().map(folder -> DynamicTest.dynamicTest(folder.getFileName().toString(), () -> {
            SchedulerConfig ddimConfig = SchedulerConfig.load(folder.resolve("scheduler/scheduler_config.json"));
            JsonObject json = JsonParser.parseString(SD15).getAsJsonObject();
            json.addProperty("prediction_type", ddimConfig.predictionType() == SchedulerConfig.PredictionType.V_PREDICTION
                    ? "v_prediction" : "epsilon");
            PNDMScheduler pndm = new PNDMScheduler(SchedulerConfig.fromJson(json));
            DDIMScheduler ddim = new DDIMScheduler(ddimConfig);
            try (GoldenCase golden = GoldenCase.load(folder)) {
                NDArray outputs = golden.get("ddim.model_outputs");
                NDArray samples = golden.get("ddim.samples");
                int n = (int) outputs.getShape().get(0);
                pndm.setTimesteps(n);
                ddim.setTimesteps(n);
                SchedulerOutput a = pndm.step(outputs.get(0), 0, samples.get(0));
                SchedulerOutput b = ddim.step(outputs.get(0), 0, samples.get(0));
                assertClose("prev sample", a.prevSample(), samples.get(1), tolerance(COMPONENT, samples.get(1)));
                assertClose("x0", a.predOriginalSample(), b.predOriginalSample(), tolerance(COMPONENT, b.predOriginalSample()));
            }
        }));
    }

    /**
     * For data x0 ~ N(0, s^2) the exact noise prediction is known and the probability-flow ODE keeps
     * x_t / sqrt(a_t s^2 + 1 - a_t) constant. After 10 steps of SD's schedule PLMS must land within 0.06 of the exact
     * end point and at least 3x closer than DDIM (numpy, float64: 0.039 against 0.192).
     */
    @Test
    void tracksTheExactTrajectoryOfGaussianDataBetterThanDdim() {
        double pndm = gaussianError(new PNDMScheduler(config(SD15)));
        double ddim = gaussianError(new DDIMScheduler(config(SD15, "_class_name", "\"DDIMScheduler\"")));
        assertTrue(pndm < 0.06, "PNDM error " + pndm);
        assertTrue(ddim > 3 * pndm, "DDIM " + ddim + " vs PNDM " + pndm);
    }

    /** Error after every evaluation of 10 steps, against the exact point at alphas_cumprod[0]. */
    private static double gaussianError(SamplingScheduler sampler) {
        sampler.setTimesteps(10);
        return gaussianTrajectoryError(sampler, sampler.timesteps().length,
                NoiseSchedule.of(sampler.config()).alphaCumprod(0));
    }

    @Test
    void warmUpWithRungeKuttaFallsBackToDdimAndIsRefusedDirectly() {
        SchedulerConfig withPrk = config(SD15, "skip_prk_steps", "false");
        assertInstanceOf(DDIMScheduler.class, Schedulers.forSampling(withPrk));
        PipelineException e = assertThrows(PipelineException.class, () -> new PNDMScheduler(withPrk));
        assertTrue(e.getMessage().contains("skip_prk_steps"), e.getMessage());
    }

    @Test
    void stepsMustRunInOrder() {
        PNDMScheduler pndm = new PNDMScheduler(config(SD15));
        pndm.setTimesteps(5);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0.1f, 0.2f});
            pndm.step(x, 0, x);
            assertThrows(IllegalStateException.class, () -> pndm.step(x, 3, x));
        }
    }
}
