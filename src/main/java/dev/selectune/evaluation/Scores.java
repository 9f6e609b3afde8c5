package dev.selectune.evaluation;

/**
 * DINO, CLIP-I and CLIP-T of one set of generated images (see {@link DreamBoothMetrics}).
 *
 * @param clipT null when no prompts were given
 */
public record Scores(double dino, double clipI, Double clipT) {
}
