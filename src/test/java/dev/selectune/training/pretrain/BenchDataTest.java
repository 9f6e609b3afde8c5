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

/** The committed pretrained base is a loadable diffusers folder with the scaling factor its pretraining measured. */
class BenchDataTest {
    @Test
    void pretrainedBaseLoads() throws java.io.IOException {
        float measured = com.google.gson.JsonParser.parseString(java.nio.file.Files.readString(
                Path.of("bench-data/tiny-sd15-dreambooth/pretrain.json"))).getAsJsonObject()
                .get("vae_scaling_factor").getAsFloat();
        PipelineFolder folder = PipelineFolder.open(Path.of("bench-data/tiny-sd15-dreambooth"));
        try (Owned<UNet2DConditionModel> unet = folder.loadUnet(Device.cpu(), DataType.FLOAT32);
             AutoencoderKL vae = folder.loadVae(Device.cpu(), DataType.FLOAT32)) {
            assertEquals(measured, vae.scalingFactor(), 1e-6f, "vae/config.json against pretrain.json");
            assertEquals(3.5276f, vae.scalingFactor(), 1e-4f, "the value bench-data's README states");
            assertTrue(unet.model().attentionProjections().size() > 0);
        }
        // Every held-out subject has photos to train on and unseen ones to measure with.
        for (String subject : PretrainConfig.DEFAULT_HELD_OUT) {
            assertTrue(Pretrainer.imageFiles(Path.of("bench-data/dreambooth", subject)).size() > 4, subject);
        }
    }
}
