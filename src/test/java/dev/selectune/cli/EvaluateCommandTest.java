package dev.selectune.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code evaluate} on the golden-eval tiny encoders and photos. */
class EvaluateCommandTest {
    static final Path EVAL = Path.of("src/test/resources/golden-eval");
    static final Path CLIP = EVAL.resolve("tiny-clip");
    static final Path DINO = EVAL.resolve("tiny-dino");

    @TempDir
    Path tmp;

    private final StringWriter out = new StringWriter();
    private final StringWriter err = new StringWriter();

    private int run(String... args) {
        CommandLine cli = new CommandLine(new EvaluateCommand());
        cli.setOut(new PrintWriter(out, true));
        cli.setErr(new PrintWriter(err, true));
        return cli.execute(args);
    }

    private Path folderWith(String name, String... images) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve(name));
        for (String image : images) {
            Files.copy(CLIP.resolve(image), dir.resolve(image));
        }
        return dir;
    }

    private JsonObject score(Path real, Path generated, String... extra) throws Exception {
        Path json = tmp.resolve("scores-" + generated.getFileName() + ".json");
        String[] base = {"--real", real.toString(), "--generated", generated.toString(), "--clip", CLIP.toString(),
                "--dino", DINO.toString(), "--json", json.toString()};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        assertEquals(0, run(args), err.toString());
        return JsonParser.parseString(Files.readString(json)).getAsJsonObject();
    }

    @Test
    void anImageScoredAgainstItselfIsOneAndAnotherSubjectScoresLess() throws Exception {
        Path real = folderWith("real", "img0_dog_00.jpg");
        JsonObject self = score(real, folderWith("same", "img0_dog_00.jpg"));
        assertEquals(1.0, self.get("dino").getAsDouble(), 1e-5);
        assertEquals(1.0, self.get("clip_i").getAsDouble(), 1e-5);
        assertTrue(self.get("clip_t").isJsonNull(), "no prompts, no CLIP-T: " + self);

        JsonObject cat = score(real, folderWith("cat", "img1_cat_00.jpg"));
        assertTrue(cat.get("dino").getAsDouble() < 0.999, cat.toString());
        assertTrue(cat.get("clip_i").getAsDouble() < 0.999, cat.toString());
    }

    @Test
    void clipTUsesOnePromptPerGeneratedImageInFileNameOrder() throws Exception {
        // golden clip.cos_image_text: rows = images (dog, cat, teapot, synthetic), columns = the 3 golden prompts.
        float[] cos;
        try (var golden = dev.selectune.diffusion.safetensors.SafeTensorsFile.open(CLIP.resolve("golden.safetensors"));
             var m = ai.djl.ndarray.NDManager.newBaseManager()) {
            cos = golden.load("clip.cos_image_text", m, ai.djl.ndarray.types.DataType.FLOAT32).toFloatArray();
        }
        Path prompts = tmp.resolve("prompts.txt");
        // img0 (dog) with "a dog on the beach" (column 1), img2 (teapot) with "a teapot" (column 2).
        Files.writeString(prompts, "a dog on the beach\na teapot\n");
        JsonObject s = score(folderWith("real", "img1_cat_00.jpg"), folderWith("gen", "img0_dog_00.jpg",
                "img2_teapot_00.jpg"), "--prompts-file", prompts.toString());
        assertEquals((cos[1] + cos[2 * 3 + 2]) / 2, s.get("clip_t").getAsDouble(), 1e-4, s.toString());

        // The identifier is dropped from the CLIP-T text: "a sks teapot" with --identifier sks scores as "a teapot".
        Files.writeString(prompts, "a sks dog on the beach\na sks teapot\n");
        JsonObject stripped = score(folderWith("real2", "img1_cat_00.jpg"), folderWith("gen2", "img0_dog_00.jpg",
                "img2_teapot_00.jpg"), "--prompts-file", prompts.toString(), "--identifier", "sks");
        assertEquals(s.get("clip_t").getAsDouble(), stripped.get("clip_t").getAsDouble(), 1e-6);
    }

    @Test
    void aPromptsFileThatDoesNotMatchTheImagesIsAUsageError() throws Exception {
        Path prompts = tmp.resolve("prompts.txt");
        Files.writeString(prompts, "one\ntwo\nthree\n");
        int code = run("--real", folderWith("real", "img0_dog_00.jpg").toString(), "--generated",
                folderWith("gen", "img1_cat_00.jpg").toString(), "--clip", CLIP.toString(), "--dino", DINO.toString(),
                "--prompts-file", prompts.toString(), "--json", tmp.resolve("x.json").toString());
        assertEquals(2, code);
        assertTrue(err.toString().contains("--prompts-file: 3 prompts for 1 generated images"), err.toString());
    }

    @Test
    void aFolderThatIsNotACLIPModelNamesTheFile() throws Exception {
        int code = run("--real", folderWith("real", "img0_dog_00.jpg").toString(), "--generated",
                folderWith("gen", "img1_cat_00.jpg").toString(), "--clip", DINO.toString(), "--dino", DINO.toString(),
                "--json", tmp.resolve("x.json").toString());
        assertEquals(1, code);
        assertTrue(err.toString().contains(DINO.resolve("config.json").toString()) && err.toString().contains("model_type"),
                err.toString());
    }

    @Test
    void generatesWithTheLoraFirstWhenGivenAModel() throws Exception {
        Path model = GoldenCase.resource("tiny-sd15");
        Path json = tmp.resolve("gen.json");
        Path saved = tmp.resolve("saved");
        int code = run("--real", folderWith("real", "img0_dog_00.jpg").toString(), "--model", model.toString(),
                "--lora", model.resolve("pytorch_lora_weights.safetensors").toString(), "--prompts",
                "a photo of sks dog", "a sks dog on the beach", "--identifier", "sks", "--images-per-prompt", "2",
                "--steps", "2", "--size", "32", "--clip", CLIP.toString(), "--dino", DINO.toString(), "--json", json.toString(),
                "--save-generated", saved.toString());
        assertEquals(0, code, err.toString());
        JsonObject s = JsonParser.parseString(Files.readString(json)).getAsJsonObject();
        assertEquals(2, s.getAsJsonArray("per_prompt").size(), s.toString());
        assertEquals("a sks dog on the beach", s.getAsJsonArray("per_prompt").get(1).getAsJsonObject().get("prompt")
                .getAsString());
        for (String key : new String[] {"dino", "clip_i", "clip_t"}) {
            double v = s.get(key).getAsDouble();
            assertTrue(v >= -1 && v <= 1, key + " = " + v);
        }
        // The overall score is the mean of the two prompts' (equal image counts).
        double mean = (s.getAsJsonArray("per_prompt").get(0).getAsJsonObject().get("dino").getAsDouble()
                + s.getAsJsonArray("per_prompt").get(1).getAsJsonObject().get("dino").getAsDouble()) / 2;
        assertEquals(mean, s.get("dino").getAsDouble(), 1e-9);
        try (var files = Files.list(saved)) {
            assertEquals(4, files.count());
        }
    }
}
