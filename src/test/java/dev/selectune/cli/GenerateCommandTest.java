package dev.selectune.cli;

import dev.selectune.diffusion.GoldenCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

class GenerateCommandTest {
    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = new CommandLine(new GenerateCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    @Test
    void writesAPngOfTheRequestedSizeWithALora() throws Exception {
        Path model = GoldenCase.resource("tiny-sd15");
        Path png = tmp.resolve("out/dog.png");
        int code = run("--model", model.toString(), "--prompt", "a photo of sks dog", "--negative-prompt", "blurry",
                "--lora", model.resolve("pytorch_lora_weights.safetensors").toString(), "--lora-scale", "0.8",
                "--width", "48", "--height", "32", "--steps", "2", "--guidance", "5", "--seed", "42",
                "--output", png.toString());
        assertEquals(0, code, err.toString());
        BufferedImage image = ImageIO.read(png.toFile());
        assertEquals(48, image.getWidth());
        assertEquals(32, image.getHeight());
        assertTrue(out.toString().contains("wrote " + png), out.toString());
    }

    @Test
    void missingModelFolderIsAUsageError() {
        int code = run("--model", tmp.resolve("nope").toString(), "--prompt", "x", "--output",
                tmp.resolve("x.png").toString());
        assertEquals(2, code);
        assertTrue(err.toString().contains("--model"), err.toString());
    }

    @Test
    void brokenModelFolderNamesTheMissingFile() throws Exception {
        Path broken = tmp.resolve("broken");
        Files.createDirectories(broken);
        Files.copy(GoldenCase.resource("tiny-sd15").resolve("model_index.json"), broken.resolve("model_index.json"));
        Path png = tmp.resolve("x.png");
        int code = run("--model", broken.toString(), "--prompt", "x", "--output", png.toString());
        assertEquals(1, code);
        assertTrue(err.toString().contains(broken.resolve("unet").toString()), err.toString());
        assertFalse(Files.exists(png));
    }

    @Test
    void sizeThatTheVaeCannotHalveIsRejected() {
        int code = run("--model", GoldenCase.resource("tiny-sd15").toString(), "--prompt", "x", "--width", "33",
                "--output", tmp.resolve("x.png").toString());
        assertEquals(2, code);
        assertTrue(err.toString().contains("width"), err.toString());
    }
}
