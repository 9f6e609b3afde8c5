package dev.selectune.diffusion.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Autograd;
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
