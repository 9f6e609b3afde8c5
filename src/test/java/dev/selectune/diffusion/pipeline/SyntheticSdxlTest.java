package dev.selectune.diffusion.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.clip.CLIPTextModel;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The SDXL code paths on a synthetic tiny SDXL folder ({@link SyntheticSdxl}, random weights). There is no
 * reference output for it, so these tests check that it loads and runs with the right shapes and wiring, not
 * its numbers; the numbers of the shared components are pinned by GoldenReferenceTest on the SD cases.
 */
class SyntheticSdxlTest {
    @TempDir
    static Path tmp;
    static Path folder;

    @BeforeAll
    static void writeFolder() {
        folder = SyntheticSdxl.write(tmp.resolve("tiny-sdxl"));
    }

    @Test
    void folderIsRecognisedAsSdxl() {
        PipelineFolder f = PipelineFolder.open(folder);
        assertTrue(f.isXl());
        assertTrue(f.forceZerosForEmptyPrompt());
        assertEquals("sdxl", f.info().family());
        assertEquals("CLIPTextModelWithProjection", f.componentClass("text_encoder_2"));
    }

    @Test
    void encodePromptConcatenatesBothPenultimateStatesAndZeroesTheEmptyNegative() {
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(folder, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager()) {
            PromptEmbeddings e = pipeline.encodePrompt("a photo of sks dog", "", m);
            assertEquals(new Shape(1, 77, SyntheticSdxl.CONTEXT_DIM), e.promptEmbeds().getShape());
            assertEquals(new Shape(1, SyntheticSdxl.POOLED_DIM), e.pooledPromptEmbeds().getShape());
            assertEquals(0f, e.negativePromptEmbeds().abs().max().getFloat(), "force_zeros_for_empty_prompt");
            assertEquals(0f, e.negativePooledPromptEmbeds().abs().max().getFloat());

            // The first half is text_encoder's hidden_states[-2] (not its last_hidden_state).
            PipelineFolder f = PipelineFolder.open(folder);
            long[] ids = ClipTokenizer.load(f.component("tokenizer")).inputIds("a photo of sks dog");
            NDManager weights = NDManager.newBaseManager();
            try (Owned<CLIPTextModel> first = new Owned<>(
                    CLIPTextModel.load(f.component("text_encoder"), weights, DataType.FLOAT32), weights)) {
                NDArray penultimate = Autograd.noGrad(() -> first.model().forward(
                        m.create(ids, new Shape(1, 77)), true).hiddenState(-2));
                NDArray firstHalf = e.promptEmbeds().get(":, :, :32");
                assertTrue(firstHalf.sub(penultimate).abs().max().getFloat() < 1e-6f);
            }

            PromptEmbeddings withNegative = pipeline.encodePrompt("a photo of sks dog", "blurry", m);
            assertTrue(withNegative.negativePromptEmbeds().abs().max().getFloat() > 0.1f);
        }
    }

    @Test
    void generatesWithEulerTextTimeConditionsAndGuidance() {
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(folder, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager()) {
            assertTrue(pipeline.schedulerName().startsWith("EulerDiscreteScheduler"), pipeline.schedulerName());
            GenerationRequest request = new GenerationRequest("a photo of sks dog", "", 48, 32, 2, 5f, 11, null, 1f);
            Generation g = pipeline.generate(request, null, m);
            assertEquals(new Shape(1, 4, 16, 24), g.latents().getShape());
            assertEquals(new Shape(1, 3, 32, 48), g.image().getShape());
            assertTrue(g.imageRaw().isInfinite().logicalOr(g.imageRaw().isNaN()).none().getBoolean(), "finite image");
            assertTrue(g.image().min().getFloat() >= 0f && g.image().max().getFloat() <= 1f);
        }
    }

    @Test
    void unetLoadsAndUsesTheAddedTimeIdsAndPooledEmbeddings() {
        PipelineFolder f = PipelineFolder.open(folder);
        Autograd.noGrad(() -> {
            try (Owned<UNet2DConditionModel> unet = f.loadUnet(Device.cpu(), DataType.FLOAT32);
                 NDManager m = NDManager.newBaseManager()) {
                NDArray sample = m.randomNormal(new Shape(2, 4, 8, 12));
                NDArray t = m.create(new long[] {999, 17});
                NDArray context = m.randomNormal(new Shape(2, 77, SyntheticSdxl.CONTEXT_DIM));
                NDArray pooled = m.randomNormal(new Shape(2, SyntheticSdxl.POOLED_DIM));
                NDArray ids = m.create(new float[] {64, 96, 0, 0, 64, 96, 64, 96, 0, 0, 64, 96}, new Shape(2, 6));
                NDArray out = unet.model().forward(sample, t, context, new AddedConditions(pooled, ids));
                assertEquals(new Shape(2, 4, 8, 12), out.getShape());
                assertTrue(out.isInfinite().logicalOr(out.isNaN()).none().getBoolean(), "finite output");
                NDArray otherIds = m.create(new float[] {32, 32, 8, 8, 64, 96, 32, 32, 8, 8, 64, 96}, new Shape(2, 6));
                NDArray moved = unet.model().forward(sample, t, context, new AddedConditions(pooled, otherIds));
                assertTrue(moved.sub(out).abs().max().getFloat() > 1e-4f, "time ids change the output");
                NDArray otherPooled = unet.model().forward(sample, t, context,
                        new AddedConditions(pooled.mul(-1), ids));
                assertTrue(otherPooled.sub(out).abs().max().getFloat() > 1e-4f, "pooled embeddings change the output");
            }
            return null;
        });
    }
}
