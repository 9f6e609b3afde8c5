package dev.selectune.evaluation;

import dev.selectune.util.Problem;

import java.util.ArrayList;
import java.util.List;

/**
 * How the images of an evaluation are made: for each prompt, {@code imagesPerPrompt} images with seeds
 * {@code seed, seed + 1, ...} (the same seeds for every prompt and for every model compared, so the LoRA and the
 * bare base start from the same noise), {@code steps} sampling steps at guidance {@code guidance}.
 *
 * @param prompts    the generation prompts, identifier included
 * @param identifier removed from the prompts for CLIP-T (see {@link DreamBoothMetrics}); null keeps them whole
 * @param size       image side in pixels, 0 for the pipeline's native resolution
 */
public record EvaluationSettings(List<String> prompts, int imagesPerPrompt, int steps, float guidance, long seed,
                                 String identifier, int size) {
    public static final int DEFAULT_IMAGES_PER_PROMPT = 4;
    public static final int DEFAULT_STEPS = 30;
    public static final float DEFAULT_GUIDANCE = 7.5f;
    public static final long DEFAULT_SEED = 0;

    public EvaluationSettings {
        prompts = List.copyOf(prompts);
        List<Problem> problems = problems(prompts, imagesPerPrompt, steps, guidance);
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(Problem.join(problems));
        }
    }

    /** What is wrong with these settings (field names as the job spec's {@code evaluation} object spells them). */
    public static List<Problem> problems(List<String> prompts, int imagesPerPrompt, int steps, float guidance) {
        List<Problem> p = new ArrayList<>();
        if (prompts.isEmpty()) {
            p.add(new Problem("prompts", "at least one is needed"));
        }
        if (imagesPerPrompt < 1 || imagesPerPrompt > 64) {
            p.add(new Problem("images_per_prompt", imagesPerPrompt + " is outside 1..64"));
        }
        if (steps < 1 || steps > 1000) {
            p.add(new Problem("steps", steps + " is outside 1..1000"));
        }
        if (!Float.isFinite(guidance) || guidance < 0) {
            p.add(new Problem("guidance", guidance + " must be a finite number >= 0"));
        }
        return p;
    }

    public int imageCount() {
        return prompts.size() * imagesPerPrompt;
    }

    /** The CLIP-T text of each generated image, in generation order (prompt-major). */
    public List<String> clipTTexts() {
        List<String> out = new ArrayList<>();
        for (String p : prompts) {
            for (int j = 0; j < imagesPerPrompt; j++) {
                out.add(DreamBoothMetrics.clipTText(p, identifier));
            }
        }
        return out;
    }
}
