package dev.selectune.diffusion.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenCase;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pipeline behaviour the golden numbers do not cover (those are GoldenReferenceTest's pipe.* entries): seeding,
 * the LoRA option and its removal, flat memory across steps, request validation. Runs on tiny-sd15 at 16x16
 * with 1 step (4 for the memory check) to stay fast.
 */
class StableDiffusionPipelineTest {
    private static final Path CASE = GoldenCase.resource("tiny-sd15");
    private static StableDiffusionPipeline pipeline;

    @BeforeAll
    static void load() {
        pipeline = StableDiffusionPipeline.load(CASE, Device.cpu(), DataType.FLOAT32);
    }

    @AfterAll
    static void close() {
        pipeline.close();
    }

    private static GenerationRequest request(long seed, int steps) {
        return new GenerationRequest("a photo of sks dog", "", 16, 16, steps, 7.5f, seed, null, 1f);
    }

    @Test
    void sameSeedGivesTheSameImageAndAnotherSeedAnotherImage() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = pipeline.generate(request(1, 1), null, m).image();
            NDArray b = pipeline.generate(request(1, 1), null, m).image();
            NDArray c = pipeline.generate(request(2, 1), null, m).image();
            assertEquals(new Shape(1, 3, 16, 16), a.getShape());
            assertEquals(0f, a.sub(b).abs().max().getFloat());
            assertTrue(a.sub(c).abs().max().getFloat() > 1e-3f);
            assertTrue(a.min().getFloat() >= 0f && a.max().getFloat() <= 1f, "image in [0, 1]");
        }
    }

    @Test
    void loraAppliesAtItsScaleAndIsRemovedAfterTheCall() {
        Path lora = CASE.resolve("pytorch_lora_weights.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray base = pipeline.generate(request(3, 1), null, m).latents();
            NDArray withLora = pipeline.generate(request(3, 1).withLora(lora, 1f), null, m).latents();
            NDArray scaledToZero = pipeline.generate(request(3, 1).withLora(lora, 0f), null, m).latents();
            NDArray after = pipeline.generate(request(3, 1), null, m).latents();
            assertTrue(withLora.sub(base).abs().max().getFloat() > 1e-2f, "the LoRA changes the result");
            assertTrue(scaledToZero.sub(base).abs().max().getFloat() < 1e-5f, "scale 0 is the base model");
            assertEquals(0f, after.sub(base).abs().max().getFloat(), "the LoRA is detached after the call");
        }
    }

    @Test
    void stepsLeaveNoTensorsBehind() {
        try (NDManager m = NDManager.newBaseManager()) {
            pipeline.generate(request(4, 1), null, m);
            int afterOneStep = m.getManagedArrays().size();
            pipeline.generate(request(4, 4), null, m);
            int afterFourSteps = m.getManagedArrays().size() - afterOneStep;
            assertEquals(afterOneStep, afterFourSteps, "the tensors a call leaves do not grow with its step count");
        }
    }

    @Test
    void invalidRequestsFailNamingTheField() {
        try (NDManager m = NDManager.newBaseManager()) {
            GenerationRequest odd = new GenerationRequest("x", "", 33, 32, 1, 7.5f, 0, null, 1f);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> pipeline.generate(odd, null, m));
            assertTrue(e.getMessage().contains("width"), e.getMessage());
            GenerationRequest noSteps = new GenerationRequest("x", "", 16, 16, 0, 7.5f, 0, null, 1f);
            e = assertThrows(IllegalArgumentException.class, () -> pipeline.generate(noSteps, null, m));
            assertTrue(e.getMessage().contains("steps"), e.getMessage());
        }
    }

    /**
     * Every scheduler name of the API and the CLI samples (and samples differently from the others); the callback
     * hears every step; the folder's own DDIM asked for by name is the default; an unknown name is refused.
     */
    @Test
    void everyNamedSchedulerSamplesAndReportsItsSteps() {
        try (NDManager m = NDManager.newBaseManager()) {
            java.util.Map<String, float[]> images = new java.util.LinkedHashMap<>();
            for (String name : dev.selectune.diffusion.schedulers.Schedulers.NAMES) {
                java.util.List<Integer> seen = new java.util.ArrayList<>();
                var sampler = pipeline.sampler(name);
                NDArray image = pipeline.generate(request(5, 3), sampler, null, (done, total) -> seen.add(done), m)
                        .image();
                assertEquals(sampler.timesteps().length, seen.size(), name);
                assertEquals(seen.size(), seen.get(seen.size() - 1), name);
                images.put(name, image.toFloatArray());
            }
            float[] byDefault = pipeline.generate(request(5, 3), null, m).image().toFloatArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(byDefault, images.get("ddim"));
            for (String other : java.util.List.of("euler", "dpmsolver++", "pndm", "ddpm")) {
                float[] x = images.get(other);
                float d = 0;
                for (int i = 0; i < x.length; i++) {
                    d = Math.max(d, Math.abs(x[i] - byDefault[i]));
                }
                assertTrue(d > 1e-4f, other + " samples differently from ddim");
            }
            assertThrows(IllegalArgumentException.class, () -> pipeline.sampler("lms"));
        }
    }

    /**
     * ddpm adds fresh noise at every step, drawn from the request's seed: the same seed gives the same image, another
     * seed another one even from the same initial latents (where ddim, deterministic, gives the same), and an image
     * does not depend on what was generated before it (so image i of a generation, seed + i, is that seed alone).
     */
    @Test
    void ddpmDrawsItsStepNoiseFromTheSeed() {
        try (NDManager m = NDManager.newBaseManager()) {
            float[] first = ddpm(request(11, 3), null, m);
            float[] other = ddpm(request(12, 3), null, m);
            org.junit.jupiter.api.Assertions.assertArrayEquals(first, ddpm(request(11, 3), null, m), "same seed");
            assertTrue(maxDifference(first, other) > 1e-3f, "another seed");
            float[] ddim = pipeline.generate(request(11, 3), pipeline.sampler("ddim"), null, (done, total) -> { }, m)
                    .image().toFloatArray();
            assertTrue(maxDifference(first, ddim) > 1e-3f, "ddpm is not ddim");

            // Image 1 of a generation seeded 11 (seed 12), after image 0: as seed 12 alone.
            org.junit.jupiter.api.Assertions.assertArrayEquals(other, ddpm(request(12, 3), null, m), "seed + 1");

            NDArray latents = SeededLatents.normal(99, new Shape(1, 4, 8, 8), m);
            float[] a = ddpm(request(11, 3), latents, m);
            float[] b = ddpm(request(12, 3), latents, m);
            assertTrue(maxDifference(a, b) > 1e-3f, "the step noise follows the seed, not the latents");
            float[] c = pipeline.generate(request(11, 3), pipeline.sampler("ddim"), latents, (done, total) -> { }, m)
                    .image().toFloatArray();
            float[] d = pipeline.generate(request(12, 3), pipeline.sampler("ddim"), latents, (done, total) -> { }, m)
                    .image().toFloatArray();
            org.junit.jupiter.api.Assertions.assertArrayEquals(c, d, "ddim draws nothing after the latents");
        }
    }

    private static float[] ddpm(GenerationRequest request, NDArray latents, NDManager m) {
        return pipeline.generate(request, pipeline.sampler("ddpm"), latents, (done, total) -> { }, m).image()
                .toFloatArray();
    }

    private static float maxDifference(float[] x, float[] y) {
        float d = 0;
        for (int i = 0; i < x.length; i++) {
            d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }

    /** A LoRA made active through the pipeline's adapters acts as the request's LoRA does, and goes off again. */
    @Test
    void namedAdaptersActLikeTheRequestLoraAndComeOff() {
        Path lora = CASE.resolve("pytorch_lora_weights.safetensors");
        try (NDManager m = NDManager.newBaseManager()) {
            float[] base = pipeline.generate(request(3, 1), null, m).latents().toFloatArray();
            float[] viaRequest = pipeline.generate(request(3, 1).withLora(lora, 0.7f), null, m).latents().toFloatArray();
            pipeline.loras().load("dog", lora);
            try {
                pipeline.loras().set(java.util.Map.of("dog", 0.7f));
                float[] viaAdapters = pipeline.generate(request(3, 1), null, m).latents().toFloatArray();
                org.junit.jupiter.api.Assertions.assertArrayEquals(viaRequest, viaAdapters);
                pipeline.loras().disable();
                org.junit.jupiter.api.Assertions.assertArrayEquals(base,
                        pipeline.generate(request(3, 1), null, m).latents().toFloatArray());
            } finally {
                pipeline.loras().delete("dog");
            }
        }
    }
}
