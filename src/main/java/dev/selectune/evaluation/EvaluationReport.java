package dev.selectune.evaluation;

import java.util.List;

/**
 * The scores of one model's generated images: overall (every image, which with equal counts per prompt is also the
 * mean of the per-prompt scores) and per prompt.
 */
public record EvaluationReport(Scores overall, List<PromptScores> perPrompt) {

    /** Scores images generated under {@code settings} (prompt-major order) against the real images' embeddings. */
    public static EvaluationReport score(Evaluator evaluator, ImageEmbeddings real, List<dev.selectune.evaluation.image.Rgb8Image> generated,
                                         EvaluationSettings settings) {
        if (generated.size() != settings.imageCount()) {
            throw new IllegalArgumentException(generated.size() + " generated images, expected " + settings.imageCount());
        }
        ImageEmbeddings gen = evaluator.embedImages(generated);
        float[][] texts = evaluator.embedTexts(settings.clipTTexts());
        int n = settings.imagesPerPrompt();
        List<PromptScores> per = new java.util.ArrayList<>();
        for (int i = 0; i < settings.prompts().size(); i++) {
            per.add(new PromptScores(settings.prompts().get(i), Evaluator.score(real, gen.slice(i * n, (i + 1) * n),
                    java.util.Arrays.copyOfRange(texts, i * n, (i + 1) * n))));
        }
        return new EvaluationReport(Evaluator.score(real, gen, texts), per);
    }
}
