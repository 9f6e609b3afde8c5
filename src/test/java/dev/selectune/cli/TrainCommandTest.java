package dev.selectune.cli;

import dev.selectune.util.Problem;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.schedule.Schedule;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The train command's options map onto TrainingConfig; unset ones keep the documented defaults. */
class TrainCommandTest {

    private static TrainCommand parse(String... extra) {
        TrainCommand cmd = new TrainCommand();
        String[] base = {"--model", "m", "--images", "a.jpg,b.png", "--prompt", "a photo of sks dog", "--output", "o"};
        String[] args = new String[base.length + extra.length];
        System.arraycopy(base, 0, args, 0, base.length);
        System.arraycopy(extra, 0, args, base.length, extra.length);
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    @Test
    void unsetOptionsKeepTheDefaults() {
        TrainingConfig c = parse().config();
        TrainingConfig d = TrainingConfig.builder("a photo of sks dog").build();
        assertEquals(d, c);
        assertEquals(2, parse().images.size());
    }

    @Test
    void everyHyperparameterIsAnOption() {
        TrainingConfig c = parse("--schedule", "tap", "--steps", "300", "--seed", "9", "--resolution", "768",
                "--resize-ratio", "0.625", "--rank", "8", "--lora-alpha", "4", "--learning-rate", "2e-4",
                "--adam-beta1", "0.8", "--adam-beta2", "0.99", "--adam-epsilon", "1e-7", "--weight-decay", "0",
                "--max-grad-norm", "0.5", "--zo-perturbations", "2", "--zo-epsilon", "1e-2", "--zo-learning-rate", "1e-5",
                "--k", "-0.05", "--t-mid", "600", "--t-max", "900", "--gradient-checkpointing", "--horizontal-flip",
                "--checkpoint-every", "10", "--class-prompt", "a photo of a dog", "--num-class-images", "5",
                "--prior-loss-weight", "0.5", "--validation-prompt", "x", "--validation-prompt", "y",
                "--validation-steps", "10", "--guidance-scale", "5", "--precision", "fp32", "--weights-dtype", "fp16")
                .config();
        assertEquals(Schedule.TAP, c.schedule());
        assertEquals(300, c.steps());
        assertEquals(9L, c.seed());
        assertEquals(768, c.resolution());
        assertEquals(0.625, c.resizeRatio());
        assertEquals(8, c.rank());
        assertEquals(4.0, c.loraAlpha());
        assertEquals(2e-4, c.learningRate());
        assertEquals(0.8, c.adamBeta1());
        assertEquals(0.99, c.adamBeta2());
        assertEquals(1e-7, c.adamEpsilon());
        assertEquals(0.0, c.weightDecay());
        assertEquals(0.5, c.maxGradNorm());
        assertEquals(2, c.zoPerturbations());
        assertEquals(1e-2, c.zoEpsilon());
        assertEquals(1e-5, c.zoLearningRate());
        assertEquals(-0.05, c.k());
        assertEquals(600, c.tMid());
        assertEquals(900, c.tMax());
        assertTrue(c.gradientCheckpointing());
        assertTrue(c.horizontalFlip());
        assertEquals(10, c.checkpointEvery());
        assertEquals("a photo of a dog", c.classPrompt());
        assertEquals(5, c.numClassImages());
        assertEquals(0.5, c.priorLossWeight());
        assertEquals(List.of("x", "y"), c.validationPrompts());
        assertEquals(10, c.validationSteps());
        assertEquals(5.0, c.guidanceScale());
        assertEquals("fp32", c.precision());
        assertEquals("fp16", c.weightsDtype());
        assertTrue(c.problems().isEmpty(), c.problems().toString());
    }

    @Test
    void configProblemsAreReportedWithTheFlagTheUserTyped() {
        assertEquals("--learning-rate: must be in (0, 1], got 2.0",
                HyperparameterOptions.onCommandLine(new Problem("learning_rate", "must be in (0, 1], got 2.0")));
        assertEquals("--validation-prompt[1]: must not be empty",
                HyperparameterOptions.onCommandLine(new Problem("validation_prompts[1]", "must not be empty")));
        assertEquals("--prompt: must not be empty",
                HyperparameterOptions.onCommandLine(new Problem("instance_prompt", "must not be empty")));
        assertEquals("--eval-clip: required", HyperparameterOptions.onCommandLine(new Problem("--eval-clip", "required")));
    }

    @Test
    void invalidValuesAreReportedByField() {
        TrainCommand cmd = parse("--resize-ratio", "1.5", "--zo-perturbations", "0", "--weights-dtype", "bf16");
        List<Problem> problems = cmd.config().problems();
        assertTrue(problems.contains(new Problem("weights_dtype", "must be auto, fp32 or fp16, got bf16")),
                problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.field().equals("resize_ratio")), problems.toString());
        assertTrue(problems.stream().anyMatch(p -> p.field().equals("zo_perturbations")), problems.toString());
        assertEquals(2, cmd.call(), "exit code 2 before anything loads");
        assertNull(cmd.checkpoint);
        assertFalse(cmd.config().gradientCheckpointing());
    }
}
