package dev.selectune.training.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;
import org.junit.jupiter.api.Test;

import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The committed pretrained base is a loadable diffusers folder with the scaling factor its README states. */
class BenchDataTest {
    @Test
    void pretrainedBaseLoads() {
        PipelineFolder folder = PipelineFolder.open(Path.of("bench-data/tiny-sd15-dreambooth"));
        try (Owned<UNet2DConditionModel> unet = folder.loadUnet(Device.cpu(), DataType.FLOAT32);
             AutoencoderKL vae = folder.loadVae(Device.cpu(), DataType.FLOAT32)) {
            assertEquals(3.5693f, vae.scalingFactor(), 1e-4f);
            assertTrue(unet.model().attentionProjections().size() > 0);
        }
        // Every held-out subject has photos to train on and unseen ones to measure with.
        for (String subject : PretrainConfig.DEFAULT_HELD_OUT) {
            assertTrue(Pretrainer.imageFiles(Path.of("bench-data/dreambooth", subject)).size() > 4, subject);
        }
    }
}
