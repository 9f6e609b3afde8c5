package dev.selectune.cli;

import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** {@code train --eval-...}: the evaluation runs after training and writes both rows next to the LoRA. */
class TrainEvaluationTest {
    static final Path EVAL = Path.of("src/test/resources/golden-eval");

    @TempDir
    Path tmp;

    @Test
    void trainEvaluatesTheLoraAgainstTheBaseModel() throws Exception {
        Path out = tmp.resolve("out");
        int code = new CommandLine(new TrainCommand()).execute("--model",
                GoldenCase.resource("tiny-sd15").toString(), "--images",
                EVAL.resolve("tiny-clip/img0_dog_00.jpg") + "," + EVAL.resolve("tiny-clip/img1_cat_00.jpg"),
                "--prompt", "a photo of sks dog", "--output", out.toString(), "--steps", "1", "--schedule", "bp_low",
                "--seed", "1", "--eval-prompts", "a sks dog on the beach", "a sks dog", "--eval-identifier", "sks",
                "--eval-images-per-prompt", "1", "--eval-steps", "1", "--eval-guidance", "1", "--eval-size", "32",
                "--eval-clip", EVAL.resolve("tiny-clip").toString(), "--eval-dino", EVAL.resolve("tiny-dino").toString());
        assertEquals(0, code);
        JsonObject report = JsonParser.parseString(Files.readString(out.resolve("evaluation.json"))).getAsJsonObject();
        assertEquals(2, report.getAsJsonArray("per_prompt").size());
        for (String key : new String[] {"dino", "clip_i", "clip_t"}) {
            assertTrue(Math.abs(report.get(key).getAsDouble()) <= 1, key);
            assertTrue(Math.abs(report.getAsJsonObject("baseline").get(key).getAsDouble()) <= 1, key);
        }
        assertTrue(Files.size(out.resolve("contact-sheet.png")) > 0);
    }

    @Test
    void evaluationOptionsAreCheckedBeforeTraining() {
        TrainCommand cmd = new TrainCommand();
        new CommandLine(cmd).parseArgs("--model", "m", "--images", "a.jpg", "--prompt", "p", "--output", "o",
                "--eval-prompts", "dreambooth", "--eval-images-per-prompt", "0");
        var problems = cmd.evaluation.problems();
        assertTrue(problems.stream().anyMatch(p -> p.field().equals("--eval-clip")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.field().equals("--eval-prompts")
                && p.message().startsWith("'dreambooth' needs")), problems.toString());
    }
}
