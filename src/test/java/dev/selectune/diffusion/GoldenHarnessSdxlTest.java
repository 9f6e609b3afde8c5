package dev.selectune.diffusion;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.golden.GoldenCaseRun;
import dev.selectune.diffusion.golden.GoldenCheck;
import dev.selectune.diffusion.golden.GoldenPlan;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.pipeline.SyntheticSdxl;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * GoldenReferenceTest's harness on an SDXL-like case in the golden format: the synthetic tiny SDXL folder
 * ({@link SyntheticSdxl}) with a golden.safetensors that uses the SDXL entry names ({@code text_2.*},
 * {@code unet.text_embeds}, {@code unet.time_ids}, {@code pipe.pooled_prompt_embeds}, {@code pipe.add_time_ids},
 * ...). There is no diffusers output for this random model, so its tensors are placeholders of the shapes the
 * reference layout implies: the test checks that every entry is understood, that each check consumes the SDXL
 * inputs, and that each computation runs and yields the stored shape, not the numbers. (The one exception is
 * {@code ddim.timesteps}, whose values follow from the config alone.)
 */
class GoldenHarnessSdxlTest {
    @TempDir
    static Path tmp;
    static GoldenCaseRun run;

    /** Entry name to shape; I64 entries end in input_ids or timestep(s). */
    private static final Map<String, long[]> ENTRIES = new LinkedHashMap<>();

    static {
        ENTRIES.put("text.input_ids", new long[] {2, 77});
        ENTRIES.put("text.last_hidden_state", new long[] {2, 77, 32});
        ENTRIES.put("text.hidden_states.2", new long[] {2, 77, 32});
        ENTRIES.put("text.pooler_output", new long[] {2, 32});
        ENTRIES.put("text_2.input_ids", new long[] {2, 77});
        ENTRIES.put("text_2.hidden_states.1", new long[] {2, 77, 32});
        ENTRIES.put("text_2.text_embeds", new long[] {2, 32});
        ENTRIES.put("unet.sample", new long[] {2, 4, 8, 8});
        ENTRIES.put("unet.timestep", new long[] {2});
        ENTRIES.put("unet.encoder_hidden_states", new long[] {2, 77, 64});
        ENTRIES.put("unet.text_embeds", new long[] {2, 32});
        ENTRIES.put("unet.time_ids", new long[] {2, 6});
        ENTRIES.put("unet.out", new long[] {2, 4, 8, 8});
        ENTRIES.put("unet.sample_16x24", new long[] {2, 4, 16, 24});
        ENTRIES.put("unet.debug_16x24.time_embedding", new long[] {1, 128});
        ENTRIES.put("vae.decode.latent", new long[] {1, 4, 8, 8});
        ENTRIES.put("vae.decode.image", new long[] {1, 3, 16, 16});
        ENTRIES.put("sched.alphas_cumprod", new long[] {1000});
        ENTRIES.put("ddim.timesteps", new long[] {4});
        ENTRIES.put("pipe.prompt_embeds", new long[] {1, 77, 64});
        ENTRIES.put("pipe.negative_prompt_embeds", new long[] {1, 77, 64});
        ENTRIES.put("pipe.pooled_prompt_embeds", new long[] {1, 32});
        ENTRIES.put("pipe.negative_pooled_prompt_embeds", new long[] {1, 32});
        ENTRIES.put("pipe.add_time_ids", new long[] {1, 6});
        ENTRIES.put("pipe.latents_in", new long[] {1, 4, 8, 8});
        ENTRIES.put("pipe.latents_out", new long[] {1, 4, 8, 8});
        ENTRIES.put("pipe.image", new long[] {1, 3, 16, 16});
    }

    @BeforeAll
    static void writeCase() throws IOException {
        Path dir = SyntheticSdxl.write(tmp.resolve("tiny-sdxl-synthetic"));
        JsonObject json = new JsonObject();
        JsonObject entries = new JsonObject();
        SafeTensorsWriter writer = new SafeTensorsWriter();
        try (NDManager m = NDManager.newBaseManager()) {
            for (Map.Entry<String, long[]> e : ENTRIES.entrySet()) {
                boolean integer = e.getKey().endsWith("input_ids") || e.getKey().contains("timestep");
                NDArray placeholder = e.getKey().equals("ddim.timesteps")
                        ? m.create(new long[] {751, 501, 251, 1})
                        : integer ? m.ones(new Shape(e.getValue()), DataType.INT64) : m.zeros(new Shape(e.getValue()));
                writer.put(e.getKey(), placeholder);
                JsonObject info = new JsonObject();
                info.addProperty("description", "placeholder of the reference shape (synthetic SDXL case)");
                entries.add(e.getKey(), info);
            }
            writer.write(dir.resolve("golden.safetensors"));
        }
        json.add("entries", entries);
        json.add("prompts", new com.google.gson.Gson().toJsonTree(List.of("a photo of sks dog", "a squirrel")));
        JsonObject call = new JsonObject();
        call.addProperty("prompt", "a photo of sks dog");
        call.addProperty("negative_prompt", "");
        call.addProperty("height", 16);
        call.addProperty("width", 16);
        call.addProperty("num_inference_steps", 2);
        call.addProperty("guidance_scale", 5.0);
        call.addProperty("eta", 0.0);
        json.add("pipeline_call", call);
        Files.writeString(dir.resolve("golden.json"), json.toString());
        run = GoldenCaseRun.open(dir);
    }

    @AfterAll
    static void close() {
        run.close();
    }

    @Test
    void everySdxlEntryIsUnderstoodAndTheChecksConsumeTheAddedConditions() {
        GoldenPlan plan = GoldenPlan.of(run);
        assertEquals(Map.of(), plan.planningErrors());
        assertEquals(List.of(), plan.unknownEntries());
        assertTrue(plan.checks().get("unet.out").inputs().containsAll(List.of("unet.text_embeds", "unet.time_ids")),
                plan.checks().get("unet.out").inputs().toString());
        assertEquals(List.of("text_2.input_ids"), plan.checks().get("text_2.text_embeds").inputs());
        assertTrue(plan.checks().containsKey("pipe.pooled_prompt_embeds"));
        assertTrue(plan.checks().containsKey("pipe.add_time_ids"));
    }

    @Test
    void everyCheckRunsAndGivesTheReferenceShape() {
        GoldenPlan plan = GoldenPlan.of(run);
        for (GoldenCheck check : plan.checks().values()) {
            NDArray actual = Autograd.noGrad(() -> check.actual().get());
            assertArrayEquals(ENTRIES.get(check.entry()), actual.getShape().getShape(), check.entry());
        }
        assertArrayEquals(new long[] {751, 501, 251, 1},
                plan.checks().get("ddim.timesteps").actual().get().toLongArray(), "DDIM on SDXL's Euler config");
        NDArray ids = plan.checks().get("pipe.add_time_ids").actual().get();
        assertArrayEquals(new float[] {16, 16, 0, 0, 16, 16}, ids.toFloatArray());
        NDArray negativePooled = plan.checks().get("pipe.negative_pooled_prompt_embeds").actual().get();
        assertEquals(0f, negativePooled.abs().max().getFloat(), "force_zeros_for_empty_prompt");
    }
}
