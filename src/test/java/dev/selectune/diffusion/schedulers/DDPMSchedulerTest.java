package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.extension.ExtendWith;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import java.util.stream.StreamSupport;

import static dev.selectune.diffusion.GoldenCase.assertClose;
import static dev.selectune.diffusion.GoldenCase.tolerance;
import static dev.selectune.diffusion.schedulers.SchedulerTesting.config;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The ancestral DDPM sampler against diffusers' {@code DDPMScheduler} ({@code src/test/resources/schedulers/
 * ddpm_reference.json}, made by {@code make_ddpm_reference.py} beside it): every step of each case, fed the same
 * model output, sample and variance noise, and set_timesteps for every spacing. Plus an independent check that it
 * is DDIM at eta 1 in effect, and the config errors.
 */
@ExtendWith(SchedulerTesting.GradOff.class)
class DDPMSchedulerTest {
    private static final JsonObject REFERENCE = reference();
    /** float32 rounding of the same formulas: 1e-6 relative to the largest value (as GoldenCase.tolerance). */
    private static final double FACTOR = 1e-6;

    private static JsonObject reference() {
        try (InputStream in = DDPMSchedulerTest.class.getResourceAsStream("/schedulers/ddpm_reference.json")) {
            if (in == null) {
                throw new IllegalStateException("no test resource /schedulers/ddpm_reference.json");
            }
            return JsonParser.parseString(new String(in.readAllBytes(), StandardCharsets.UTF_8)).getAsJsonObject();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static Stream<JsonObject> objects(String name) {
        JsonArray a = REFERENCE.getAsJsonArray(name);
        assertFalse(a.isEmpty(), name + " is empty");
        return StreamSupport.stream(a.spliterator(), false).map(JsonElement::getAsJsonObject);
    }

    private static Shape shape() {
        JsonArray a = REFERENCE.getAsJsonArray("shape");
        long[] dims = new long[a.size()];
        for (int i = 0; i < dims.length; i++) {
            dims[i] = a.get(i).getAsLong();
        }
        return new Shape(dims);
    }

    private static float[] floats(JsonObject o, String name) {
        JsonArray a = o.getAsJsonArray(name);
        float[] out = new float[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsFloat();
        }
        return out;
    }

    private static long[] longs(JsonObject o, String name) {
        JsonArray a = o.getAsJsonArray(name);
        long[] out = new long[a.size()];
        for (int i = 0; i < out.length; i++) {
            out[i] = a.get(i).getAsLong();
        }
        return out;
    }

    @TestFactory
    Stream<DynamicNode> stepsMatchDiffusers() {
        return objects("cases").map(c -> DynamicContainer.dynamicContainer(c.get("name").getAsString(), Stream.of(
                DynamicTest.dynamicTest("each step from the reference sample", () -> checkSteps(c, false)),
                DynamicTest.dynamicTest("the chained trajectory", () -> checkSteps(c, true)))));
    }

    /**
     * Steps through a case, from the reference's own sample at each step or from our previous output. The noise
     * source hands out the stored noise of that step, and records that the step drew it.
     */
    private static void checkSteps(JsonObject c, boolean chained) {
        DDPMScheduler ddpm = assertInstanceOf(DDPMScheduler.class,
                Schedulers.forSampling(SchedulerConfig.fromJson(c.getAsJsonObject("config"))));
        ddpm.setTimesteps(c.get("num_inference_steps").getAsInt());
        assertArrayEquals(longs(c, "timesteps"), ddpm.integerTimesteps(), "timesteps");
        Shape shape = shape();
        List<JsonObject> steps = objects(c, "steps");
        assertEquals(steps.size(), ddpm.timesteps().length);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray sample = m.create(floats(steps.get(0), "sample"), shape);
            for (JsonObject s : steps) {
                int i = s.get("index").getAsInt();
                String at = "step " + i + " (t=" + s.get("timestep").getAsLong() + ")";
                assertEquals(s.get("prev_timestep").getAsLong(), ddpm.previousTimestep(i), at + " prev_t");
                if (!chained) {
                    sample = m.create(floats(s, "sample"), shape);
                }
                List<Integer> drawn = new ArrayList<>();
                NDArray noise = m.create(floats(s, "noise"), shape);
                SchedulerOutput out = ddpm.step(m.create(floats(s, "model_output"), shape), i, sample,
                        (stepIndex, like) -> {
                            drawn.add(stepIndex);
                            assertEquals(like.getShape(), noise.getShape());
                            return noise.duplicate();
                        });
                assertEquals(s.get("noise_added").getAsBoolean() ? List.of(i) : List.of(), drawn, at + " noise drawn");
                NDArray expectedX0 = m.create(floats(s, "pred_original_sample"), shape);
                NDArray expectedPrev = m.create(floats(s, "prev_sample"), shape);
                assertClose(at + " pred_original_sample", out.predOriginalSample(), expectedX0,
                        tolerance(FACTOR, expectedX0));
                assertClose(at + " prev_sample", out.prevSample(), expectedPrev, tolerance(FACTOR, expectedPrev));
                sample = out.prevSample();
            }
        }
    }

    private static List<JsonObject> objects(JsonObject o, String name) {
        List<JsonObject> out = new ArrayList<>();
        o.getAsJsonArray(name).forEach(e -> out.add(e.getAsJsonObject()));
        return out;
    }

    @TestFactory
    Stream<DynamicTest> setTimestepsMatchesDiffusers() {
        return objects("timesteps").map(t -> {
            String spacing = t.get("timestep_spacing").getAsString();
            int offset = t.get("steps_offset").getAsInt();
            int n = t.get("num_inference_steps").getAsInt();
            return DynamicTest.dynamicTest(spacing + ", steps_offset " + offset + ", " + n + " steps", () -> {
                DDPMScheduler ddpm = new DDPMScheduler(config("{\"_class_name\": \"DDPMScheduler\"}",
                        "timestep_spacing", "\"" + spacing + "\"", "steps_offset", String.valueOf(offset)));
                ddpm.setTimesteps(n);
                assertArrayEquals(longs(t, "timesteps"), ddpm.integerTimesteps());
                assertEquals(-1, ddpm.previousTimestep(n - 1));
            });
        });
    }

    /**
     * Independent of the reference: without clipping, the DDPM posterior step is DDIM's eta = 1 step (same x0, same
     * variance, sqrt(a') x0 + sqrt(1 - a' - var) eps equals the posterior mean), given the same noise, when DDIM
     * also sets alpha-bar to 1 before the first training step. Checked in SD's schedule, epsilon and v.
     */
    @Test
    void isDdimAtEtaOne() {
        String sd = "{\"beta_schedule\": \"scaled_linear\", \"beta_start\": 0.00085, \"beta_end\": 0.012,"
                + " \"steps_offset\": 1, \"clip_sample\": false, \"set_alpha_to_one\": true}";
        for (String prediction : List.of("epsilon", "v_prediction")) {
            DDPMScheduler ddpm = new DDPMScheduler(config(sd, "_class_name", "\"DDPMScheduler\"",
                    "prediction_type", "\"" + prediction + "\""));
            DDIMScheduler ddim = new DDIMScheduler(config(sd, "_class_name", "\"DDIMScheduler\"",
                    "prediction_type", "\"" + prediction + "\""));
            ddpm.setTimesteps(8);
            ddim.setTimesteps(8);
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray x = m.create(new float[] {0.8f, -1.5f, 0.1f, 2.2f});
                NDArray out = m.create(new float[] {0.3f, -0.9f, 1.2f, -0.2f});
                NDArray z = m.create(new float[] {-1.1f, 0.4f, 0.7f, 1.9f});
                for (int i = 0; i < 8; i++) {
                    NDArray a = ddpm.step(out, i, x, (stepIndex, like) -> z.duplicate()).prevSample();
                    NDArray b = ddim.stepFromTimestep(out, ddim.integerTimesteps()[i], x, 1f, z).prevSample();
                    assertClose(prediction + " step " + i, a, b, tolerance(1e-5, b));
                    x = a;
                }
            }
        }
    }

    @Test
    void aStepWithoutNoiseSourceFailsButTimestepZeroDrawsNone() {
        DDPMScheduler ddpm = new DDPMScheduler(config("{\"_class_name\": \"DDPMScheduler\", \"timestep_spacing\": \"linspace\"}"));
        ddpm.setTimesteps(4);
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.create(new float[] {0.5f, -0.5f});
            IllegalStateException e = assertThrows(IllegalStateException.class, () -> ddpm.step(x, 0, x));
            assertTrue(e.getMessage().contains("StepNoise"), e.getMessage());
            assertEquals(0f, ddpm.timesteps()[3]);
            assertEquals(2, ddpm.step(x, 3, x).prevSample().size());
        }
    }

    @Test
    void varianceTypesOtherThanFixedSmallFailNamingTheField() {
        for (String type : List.of("fixed_large", "fixed_small_log", "learned_range", "something")) {
            PipelineException e = assertThrows(PipelineException.class, () -> config(
                    "{\"_class_name\": \"DDPMScheduler\"}", "variance_type", "\"" + type + "\""));
            assertTrue(e.getMessage().contains("variance_type") && e.getMessage().contains(type), e.getMessage());
        }
        assertInstanceOf(DDPMScheduler.class, Schedulers.forSampling(config(
                "{\"_class_name\": \"DDPMScheduler\", \"variance_type\": \"fixed_small\"}")));
        assertInstanceOf(DDPMScheduler.class, Schedulers.forSampling(config(
                "{\"_class_name\": \"DDPMScheduler\", \"variance_type\": null}")));
        // Other classes' variance_type (UniPC's, DDIM's from_config leftovers) is not DDPM's business.
        config("{\"_class_name\": \"UniPCMultistepScheduler\", \"variance_type\": \"learned_range\"}");
    }

    /** "ddpm" by name on another class's config keeps its schedule and options, as DDPMScheduler.from_config. */
    @Test
    void ddpmByNameOnADdimConfig() {
        SchedulerConfig ddim = config("{\"_class_name\": \"DDIMScheduler\", \"beta_schedule\": \"scaled_linear\","
                + " \"beta_start\": 0.00085, \"beta_end\": 0.012, \"steps_offset\": 1, \"clip_sample\": false,"
                + " \"prediction_type\": \"v_prediction\"}");
        DDPMScheduler ddpm = assertInstanceOf(DDPMScheduler.class, Schedulers.named("ddpm", ddim));
        assertEquals("DDPMScheduler", ddpm.config().className());
        assertEquals(SchedulerConfig.PredictionType.V_PREDICTION, ddpm.config().predictionType());
        assertFalse(ddpm.config().clipSample());
        ddpm.setTimesteps(10);
        assertArrayEquals(new long[] {901, 801, 701, 601, 501, 401, 301, 201, 101, 1}, ddpm.integerTimesteps());
    }
}
