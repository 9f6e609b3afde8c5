package dev.selectune.diffusion.pipeline;

import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The folder check that runs before any weight is loaded: every broken layout fails naming the file. */
class PipelineFolderTest {
    @TempDir
    Path tmp;

    @Test
    void opensBothTinyCases() {
        PipelineFolder sd15 = PipelineFolder.open(GoldenCase.resource("tiny-sd15"));
        assertEquals("StableDiffusionPipeline", sd15.pipelineClass());
        assertFalse(sd15.isXl());
        assertEquals("CLIPTextModel", sd15.componentClass("text_encoder"));
        assertEquals("DDIMScheduler", sd15.schedulerConfig().get("_class_name").getAsString());
        PipelineFolder sd21 = PipelineFolder.open(GoldenCase.resource("tiny-sd21v"));
        assertEquals("v_prediction", sd21.info().predictionType());
    }

    @Test
    void missingComponentFolderIsNamed() throws IOException {
        Path dir = copyOfTinySd15();
        deleteTree(dir.resolve("vae"));
        PipelineException e = assertThrows(PipelineException.class, () -> PipelineFolder.open(dir));
        assertTrue(e.getMessage().contains(dir.resolve("vae").toString()), e.getMessage());
    }

    @Test
    void missingTokenizerFileIsNamedBeforeAnyWeightLoads() throws IOException {
        Path dir = copyOfTinySd15();
        Files.delete(dir.resolve("tokenizer/merges.txt"));
        PipelineException e = assertThrows(PipelineException.class, () -> PipelineFolder.open(dir));
        assertTrue(e.getMessage().contains("tokenizer/merges.txt"), e.getMessage());
    }

    @Test
    void pickledWeightsAreRefusedWithAHint() throws IOException {
        Path dir = copyOfTinySd15();
        Path unet = dir.resolve("unet");
        Files.move(unet.resolve("diffusion_pytorch_model.safetensors"), unet.resolve("diffusion_pytorch_model.bin"));
        PipelineException e = assertThrows(PipelineException.class, () -> PipelineFolder.open(dir));
        assertTrue(e.getMessage().contains("unet/diffusion_pytorch_model.safetensors"), e.getMessage());
        assertTrue(e.getMessage().contains("convert them to safetensors"), e.getMessage());
    }

    @Test
    void xlPipelineNeedsTheSecondEncoder() throws IOException {
        Path dir = copyOfTinySd15();
        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index)
                .replace("\"StableDiffusionPipeline\"", "\"StableDiffusionXLPipeline\""));
        PipelineException e = assertThrows(PipelineException.class, () -> PipelineFolder.open(dir));
        assertTrue(e.getMessage().contains("text_encoder_2"), e.getMessage());
    }

    @Test
    void unsupportedComponentClassIsNamed() throws IOException {
        Path dir = copyOfTinySd15();
        Path index = dir.resolve("model_index.json");
        Files.writeString(index, Files.readString(index).replace("\"AutoencoderKL\"", "\"AutoencoderTiny\""));
        PipelineException e = assertThrows(PipelineException.class, () -> PipelineFolder.open(dir));
        assertTrue(e.getMessage().contains("AutoencoderTiny"), e.getMessage());
    }

    /** A copy of the tiny SD 1.5 folder (about 8 MB), safe to break. */
    private Path copyOfTinySd15() throws IOException {
        Path src = GoldenCase.resource("tiny-sd15");
        Path dst = tmp.resolve("tiny-sd15");
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
        return dst;
    }

    private static void deleteTree(Path dir) throws IOException {
        try (Stream<Path> files = Files.walk(dir)) {
            for (Path p : files.sorted((a, b) -> b.getNameCount() - a.getNameCount()).toList()) {
                Files.delete(p);
            }
        }
    }
}
