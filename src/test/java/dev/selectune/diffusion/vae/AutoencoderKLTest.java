package dev.selectune.diffusion.vae;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** Behaviour beyond the golden numbers (those are in GoldenReferenceTest): shapes, grad mode, config and weight errors. */
class AutoencoderKLTest {
    private static final Path VAE = GoldenCase.resource("tiny-sd15").resolve("vae");

    @TempDir
    Path tmp;

    @Test
    void encodesAndDecodesAtANonSquareSizeWithoutRecordingGradients() {
        try (AutoencoderKL vae = AutoencoderKL.load(VAE, Device.cpu(), DataType.FLOAT32);
             NDManager m = NDManager.newBaseManager()) {
            assertEquals(0.18215f, vae.scalingFactor());
            assertEquals(2, vae.config().downscaleFactor());
            NDArray image = m.randomUniform(-1f, 1f, new Shape(2, 3, 16, 24));
            Autograd.withGrad(() -> {
                try (DiagonalGaussianDistribution posterior = vae.encode(image)) {
                    assertEquals(new Shape(2, 4, 8, 12), posterior.mean().getShape());
                    assertFalse(posterior.mean().hasGradient());
                    NDArray noise = m.zeros(posterior.mean().getShape());
                    NDArray sample = posterior.sample(noise);
                    assertEquals(0f, sample.sub(posterior.mean()).abs().max().getFloat());
                    NDArray decoded = vae.decode(sample);
                    assertEquals(new Shape(2, 3, 16, 24), decoded.getShape());
                }
                return null;
            });
        }
    }

    @Test
    void unsupportedBlockTypeFailsNamingTheConfig() throws IOException {
        Path dir = tmp.resolve("vae");
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), Files.readString(VAE.resolve("config.json"))
                .replaceFirst("\"UpDecoderBlock2D\"", "\"AttnUpDecoderBlock2D\""));
        PipelineException e = assertThrows(PipelineException.class, () -> VaeConfig.read(dir.resolve("config.json")));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("AttnUpDecoderBlock2D"),
                e.getMessage());
    }

    @Test
    void missingWeightFailsAtLoadNamingFileAndKey() throws IOException {
        Path dir = tmp.resolve("vae");
        Files.createDirectories(dir);
        Files.copy(VAE.resolve("config.json"), dir.resolve("config.json"));
        String dropped = "decoder.mid_block.attentions.0.to_v.bias";
        try (SafeTensorsFile src = SafeTensorsFile.open(VAE.resolve("diffusion_pytorch_model.safetensors"));
             NDManager m = NDManager.newBaseManager()) {
            SafeTensorsWriter w = new SafeTensorsWriter();
            for (String key : src.tensors().keySet()) {
                if (!key.equals(dropped)) {
                    w.put(key, src.load(key, m, DataType.FLOAT32));
                }
            }
            w.write(dir.resolve("diffusion_pytorch_model.safetensors"));
        }
        WeightsException e = assertThrows(WeightsException.class,
                () -> AutoencoderKL.load(dir, Device.cpu(), DataType.FLOAT32));
        assertTrue(e.getMessage().contains(dropped) && e.getMessage().contains("diffusion_pytorch_model.safetensors"),
                e.getMessage());
    }
}
