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
    void loraForAnotherModelNamesTheKey() {
        // tiny-sd21v's LoRA has the same module paths but 40-wide text conditioning, so attn2.to_k does not fit.
        Path lora = GoldenCase.resource("tiny-sd21v").resolve("pytorch_lora_weights.safetensors");
        int code = run("--model", GoldenCase.resource("tiny-sd15").toString(), "--prompt", "x", "--steps", "1",
                "--lora", lora.toString(), "--output", tmp.resolve("x.png").toString());
        assertEquals(1, code);
        assertTrue(err.toString().contains(lora.toString()) && err.toString().contains("lora_A.weight"),
                err.toString());
    }

    @Test
    void sizeThatTheVaeCannotHalveIsRejected() {
        int code = run("--model", GoldenCase.resource("tiny-sd15").toString(), "--prompt", "x", "--width", "33",
                "--output", tmp.resolve("x.png").toString());
        assertEquals(2, code);
        assertTrue(err.toString().contains("width"), err.toString());
    }

    private byte[] png(String name, String... extra) throws Exception {
        Path png = tmp.resolve(name + ".png");
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("--model",
                GoldenCase.resource("tiny-sd15").toString(), "--prompt", "a photo of sks dog", "--width", "16",
                "--height", "16", "--steps", "2", "--seed", "3", "--output", png.toString()));
        args.addAll(java.util.List.of(extra));
        int code = run(args.toArray(String[]::new));
        assertEquals(0, code, err.toString());
        return Files.readAllBytes(png);
    }

    /** FILE:SCALE is the scale of that LoRA; repeated --lora options compose; --scheduler picks the sampler. */
    @Test
    void lorasComposeAtTheirScalesWithTheNamedScheduler() throws Exception {
        Path model = GoldenCase.resource("tiny-sd15");
        String dog = model.resolve("pytorch_lora_weights.safetensors").toString();
        Path second = tmp.resolve("second.safetensors");
        dev.selectune.diffusion.nn.Autograd.noGrad(() -> {
            try (ai.djl.ndarray.NDManager m = ai.djl.ndarray.NDManager.newBaseManager()) {
                var unet = dev.selectune.diffusion.unet.UNet2DConditionModel.load(model.resolve("unet"), m,
                        ai.djl.ndarray.types.DataType.FLOAT32);
                try (var lora = dev.selectune.diffusion.lora.LoraNetwork.create(unet, 2, 2, 9, m)) {
                    lora.adapters().values().forEach(a -> a.up().addi(m.randomUniform(-0.3f, 0.3f,
                            a.up().getShape())));
                    lora.save(second, dev.selectune.diffusion.lora.LoraFormat.KOHYA);
                }
            }
        });
        byte[] suffixed = png("a", "--lora", dog + ":0.8");
        assertTrue(java.util.Arrays.equals(suffixed, png("b", "--lora", dog, "--lora-scale", "0.8")));
        assertFalse(java.util.Arrays.equals(suffixed, png("c", "--lora", dog + ":0.3")));
        byte[] both = png("d", "--lora", dog + ":0.8", "--lora", second + ":1.5");
        assertFalse(java.util.Arrays.equals(suffixed, both));
        assertFalse(java.util.Arrays.equals(both, png("e", "--lora", dog + ":0.8", "--lora", second + ":1.5",
                "--scheduler", "euler")));
        assertTrue(out.toString().contains("euler"), out.toString());
    }

    @Test
    void badLoraScaleAndUnknownSchedulerAreUsageErrors() {
        String dog = GoldenCase.resource("tiny-sd15").resolve("pytorch_lora_weights.safetensors").toString();
        String[] common = {"--model", GoldenCase.resource("tiny-sd15").toString(), "--prompt", "x", "--output",
                tmp.resolve("x.png").toString()};
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of(common));
        args.addAll(java.util.List.of("--lora", dog + ":strong"));
        assertEquals(2, run(args.toArray(String[]::new)));
        assertTrue(err.toString().contains("--lora") && err.toString().contains("strong"), err.toString());
        args = new java.util.ArrayList<>(java.util.List.of(common));
        args.addAll(java.util.List.of("--scheduler", "lms"));
        assertEquals(2, run(args.toArray(String[]::new)));
        assertTrue(err.toString().contains("--scheduler") && err.toString().contains("dpmsolver++"), err.toString());
    }
}
