package dev.selectune.training.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.training.data.ImageDecoder;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Pretraining for a few steps on two subjects writes a loadable diffusers folder whose VAE scaling factor makes the
 * latents unit-variance, whose every UNet weight has trained, and whose loss falls. (The long run is bench only.)
 */
class PretrainerTest {
    static final Path BASE = GoldenCase.resource("tiny-sd15");
    static final Path DATASET = Path.of("bench-data/dreambooth");
    static final List<String> SUBJECTS = List.of("can", "candle");
    static final int RESOLUTION = 32;

    @TempDir
    static Path tmp;
    static Path out;
    static Pretrainer.Result result;

    @BeforeAll
    static void pretrain() {
        PretrainConfig config = PretrainConfig.builder().subjects(SUBJECTS).steps(8).batchSize(2)
                .resolution(RESOLUTION).build();
        out = tmp.resolve("pretrained");
        result = new Pretrainer(BASE, DATASET, config).run(out, (s, n, l, g, sec) -> { });
    }

    @Test
    void writesALoadableDiffusersFolder() {
        PipelineFolder folder = PipelineFolder.open(out);
        assertEquals(11, result.images());
        try (Owned<UNet2DConditionModel> unet = folder.loadUnet(Device.cpu(), DataType.FLOAT32);
             AutoencoderKL vae = folder.loadVae(Device.cpu(), DataType.FLOAT32)) {
            assertEquals(result.scalingFactor(), vae.scalingFactor());
        }
        assertTrue(Files.isRegularFile(out.resolve("pretrain.json")));
    }

    @Test
    void everyUnetWeightTrained() {
        try (SafeTensorsFile before = SafeTensorsFile.open(BASE.resolve("unet/diffusion_pytorch_model.safetensors"));
             SafeTensorsFile after = SafeTensorsFile.open(out.resolve("unet/diffusion_pytorch_model.safetensors"));
             NDManager m = NDManager.newBaseManager()) {
            assertEquals(before.tensors().keySet(), after.tensors().keySet());
            List<String> unchanged = new ArrayList<>();
            for (String key : before.tensors().keySet()) {
                assertTrue(Arrays.equals(before.info(key).shape(), after.info(key).shape()), key);
                float[] a = before.load(key, m, DataType.FLOAT32).toFloatArray();
                float[] b = after.load(key, m, DataType.FLOAT32).toFloatArray();
                if (Arrays.equals(a, b)) {
                    unchanged.add(key);
                }
            }
            // proj_in/proj_out (1x1 kernels held as matrices) included: a weight the optimizer missed stays put.
            assertEquals(List.of(), unchanged);
        }
    }

    @Test
    void scalingFactorMakesTheTrainingLatentsUnitVariance() throws Exception {
        double factor = JsonParser.parseString(Files.readString(out.resolve("vae/config.json"))).getAsJsonObject()
                .get("scaling_factor").getAsDouble();
        assertFalse(Math.abs(factor - 0.18215) < 1e-6, "the base's factor was kept");
        List<float[]> latents = new ArrayList<>();
        try (AutoencoderKL vae = PipelineFolder.open(out).loadVae(Device.cpu(), DataType.FLOAT32)) {
            for (String subject : SUBJECTS) {
                for (Path f : Pretrainer.imageFiles(DATASET.resolve(subject))) {
                    var img = ImageDecoder.decode(Files.readAllBytes(f), 0);
                    latents.add(Pretrainer.encode(vae, img, RESOLUTION, false));
                    latents.add(Pretrainer.encode(vae, img, RESOLUTION, true));
                }
            }
        }
        double sum = 0;
        double squares = 0;
        long n = 0;
        for (float[] l : latents) {
            for (float v : l) {
                double s = v * factor;
                sum += s;
                squares += s * s;
                n++;
            }
        }
        double mean = sum / n;
        assertEquals(1.0, Math.sqrt(squares / n - mean * mean), 1e-3);
    }

    @Test
    void lossFalls() {
        List<Double> l = result.losses();
        assertEquals(8, l.size());
        double first = (l.get(0) + l.get(1) + l.get(2)) / 3;
        double last = (l.get(5) + l.get(6) + l.get(7)) / 3;
        assertTrue(last < 0.9 * first, "loss " + l);
    }

    @Test
    void heldOutSubjectsCannotBeTrainedOn() {
        PretrainConfig config = PretrainConfig.builder().subjects(List.of("dog", "can")).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> new Pretrainer(BASE, DATASET, config));
        assertTrue(e.getMessage().contains("subjects: 'dog' is held out"), e.getMessage());
    }
}
