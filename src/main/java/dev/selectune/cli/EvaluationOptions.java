package dev.selectune.cli;

import dev.selectune.util.Problem;
import ai.djl.Device;
import dev.selectune.evaluation.DreamBoothPrompts;
import dev.selectune.evaluation.EvaluationSettings;
import dev.selectune.evaluation.Evaluator;
import dev.selectune.evaluation.Scores;
import dev.selectune.evaluation.SubjectEvaluation;
import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.training.data.ImageDecoder;
import picocli.CommandLine.Option;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * {@code train}'s evaluation options, the same as a job spec's {@code evaluation}: after training, the LoRA's and the
 * bare base model's images are generated from the same prompts and seeds and scored against the training images,
 * into {@code evaluation.json} and {@code contact-sheet.png} in the output folder.
 */
public final class EvaluationOptions {
    @Option(names = "--eval-prompts", arity = "1..*", paramLabel = "PROMPT",
            description = "evaluate after training with these prompts, or 'dreambooth' (the dataset's 25; needs"
                    + " --eval-identifier and --eval-class-noun)")
    List<String> prompts;

    @Option(names = "--eval-clip", paramLabel = "DIR", description = "Hugging Face CLIPModel folder (with --eval-prompts)")
    Path clip;

    @Option(names = "--eval-dino", paramLabel = "DIR", description = "Hugging Face DINO ViTModel folder (with --eval-prompts)")
    Path dino;

    @Option(names = "--eval-identifier", description = "the identifier token, e.g. sks (dropped from the CLIP-T text)")
    String identifier;

    @Option(names = "--eval-class-noun", description = "the class noun, e.g. dog (for 'dreambooth')")
    String classNoun;

    @Option(names = "--eval-images-per-prompt", defaultValue = "" + EvaluationSettings.DEFAULT_IMAGES_PER_PROMPT,
            description = "(default: ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--eval-steps", defaultValue = "" + EvaluationSettings.DEFAULT_STEPS,
            description = "sampling steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--eval-guidance", defaultValue = "" + EvaluationSettings.DEFAULT_GUIDANCE,
            description = "(default: ${DEFAULT-VALUE})")
    float guidance;

    @Option(names = "--eval-seed", defaultValue = "" + EvaluationSettings.DEFAULT_SEED,
            description = "seed of each prompt's first image (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--eval-size", defaultValue = "0", description = "image side (default: the model's native resolution)")
    int size;

    public boolean requested() {
        return prompts != null && !prompts.isEmpty();
    }

    /** What is wrong with the options, checked before training starts; empty when fine or not requested. */
    public List<Problem> problems() {
        List<Problem> out = new ArrayList<>();
        if (!requested()) {
            if (clip != null || dino != null) {
                out.add(new Problem("--eval-clip/--eval-dino", "only with --eval-prompts"));
            }
            return out;
        }
        if (clip == null || !Files.isDirectory(clip)) {
            out.add(new Problem("--eval-clip", "a CLIPModel folder is required with --eval-prompts"
                    + (clip == null ? "" : " (" + clip + " is not a directory)")));
        }
        if (dino == null || !Files.isDirectory(dino)) {
            out.add(new Problem("--eval-dino", "a DINO folder is required with --eval-prompts"
                    + (dino == null ? "" : " (" + dino + " is not a directory)")));
        }
        if (dreamBooth() && (identifier == null || classNoun == null)) {
            out.add(new Problem("--eval-prompts", "'dreambooth' needs --eval-identifier and --eval-class-noun"));
        } else {
            for (Problem p : EvaluationSettings.problems(promptList(), imagesPerPrompt, steps, guidance)) {
                out.add(new Problem("--eval-" + p.field().replace('_', '-'), p.message()));
            }
        }
        return out;
    }

    public EvaluationSettings settings() {
        List<Problem> problems = problems();
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(Problem.join(problems));
        }
        return new EvaluationSettings(promptList(), imagesPerPrompt, steps, guidance, seed, identifier, size);
    }

    private boolean dreamBooth() {
        return prompts.size() == 1 && prompts.get(0).equals("dreambooth");
    }

    private List<String> promptList() {
        return dreamBooth() ? DreamBoothPrompts.prompts(identifier, classNoun) : prompts;
    }

    /** Runs the evaluation and writes its files into {@code output}; prints both rows of scores. */
    public void evaluate(Path model, Device device, Path lora, List<byte[]> images, Path output, PrintStream out) {
        List<Rgb8Image> real = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            real.add(Rgb8Image.of(ImageDecoder.decode(images.get(i), i)));
        }
        try (Evaluator evaluator = Evaluator.load(clip, dino, device)) {
            SubjectEvaluation.Result r = SubjectEvaluation.run(model, device, lora, settings(), evaluator, real, () -> false);
            List<Path> files = SubjectEvaluation.write(r, output);
            print(out, "LoRA", r.lora().overall());
            print(out, "base", r.base().overall());
            out.printf(Locale.ROOT, "evaluation: %s and %s in %.1f s%n", files.get(0), files.get(1), r.seconds());
        }
    }

    private static void print(PrintStream out, String row, Scores s) {
        out.printf(Locale.ROOT, "%-5s dino %.4f  clip_i %.4f  clip_t %.4f%n", row, s.dino(), s.clipI(), s.clipT());
    }
}
