package dev.selectune.evaluation;

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
        if (prompts.isEmpty()) {
            throw new IllegalArgumentException("prompts: at least one is needed");
        }
        if (imagesPerPrompt < 1 || imagesPerPrompt > 64) {
            throw new IllegalArgumentException("images_per_prompt: " + imagesPerPrompt + " is outside 1..64");
        }
        if (steps < 1 || steps > 1000) {
            throw new IllegalArgumentException("steps: " + steps + " is outside 1..1000");
        }
        if (!Float.isFinite(guidance) || guidance < 0) {
            throw new IllegalArgumentException("guidance: " + guidance + " must be a finite number >= 0");
        }
    }

    public int imageCount() {
        return prompts.size() * imagesPerPrompt;
    }

    /** The CLIP-T text of each generated image, in generation order (prompt-major). */
    public List<String> clipTTexts() {
        List<String> out = new java.util.ArrayList<>();
        for (String p : prompts) {
            for (int j = 0; j < imagesPerPrompt; j++) {
                out.add(DreamBoothMetrics.clipTText(p, identifier));
            }
        }
        return out;
    }
}
