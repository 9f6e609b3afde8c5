package dev.selectune.training.pretrain;

import dev.selectune.util.Problem;
import java.util.ArrayList;
import java.util.List;

/**
 * What {@link Pretrainer} takes. The defaults are the run kept as bench data ({@code bench-data/tiny-sd15-dreambooth}).
 *
 * @param heldOut      subject folders left out of pretraining (the personalization benchmark's subjects)
 * @param subjects     if not empty, only these subject folders are used (tests); else every folder not held out
 * @param caption      the one generic prompt every image is trained with
 * @param learningRate AdamW's, constant (no warm-up: the few hundred steps a 2-core machine affords need it all)
 * @param resolution   training resolution in pixels; null means the base model's native one
 */
public record PretrainConfig(List<String> heldOut, List<String> subjects, int steps, int batchSize, long seed,
                             String caption, double learningRate, double weightDecay, double maxGradNorm,
                             boolean horizontalFlip, Integer resolution) {

    public static final List<String> DEFAULT_HELD_OUT = List.of("dog", "cat", "teapot", "backpack");

    public PretrainConfig {
        heldOut = List.copyOf(heldOut);
        subjects = List.copyOf(subjects);
    }

    public static PretrainConfig defaults() {
        return new PretrainConfig(DEFAULT_HELD_OUT, List.of(), 900, 8, 0, "a photo", 1e-3, 1e-2, 1.0, true, null);
    }

    public PretrainConfig withSteps(int v) {
        return new PretrainConfig(heldOut, subjects, v, batchSize, seed, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withSubjects(List<String> v) {
        return new PretrainConfig(heldOut, v, steps, batchSize, seed, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withBatchSize(int v) {
        return new PretrainConfig(heldOut, subjects, steps, v, seed, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withSeed(long v) {
        return new PretrainConfig(heldOut, subjects, steps, batchSize, v, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withLearningRate(double v) {
        return new PretrainConfig(heldOut, subjects, steps, batchSize, seed, caption, v, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withCaption(String v) {
        return new PretrainConfig(heldOut, subjects, steps, batchSize, seed, v, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withHeldOut(List<String> v) {
        return new PretrainConfig(v, subjects, steps, batchSize, seed, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, resolution);
    }

    public PretrainConfig withResolution(Integer v) {
        return new PretrainConfig(heldOut, subjects, steps, batchSize, seed, caption, learningRate, weightDecay,
                maxGradNorm, horizontalFlip, v);
    }

    /** Every problem, by field; empty when valid. */
    public List<Problem> problems() {
        List<Problem> p = new ArrayList<>();
        if (steps < 1) {
            p.add(new Problem("steps", "must be >= 1, got " + steps));
        }
        if (batchSize < 1 || batchSize > 256) {
            p.add(new Problem("batch_size", "must be between 1 and 256, got " + batchSize));
        }
        if (caption == null || caption.isBlank()) {
            p.add(new Problem("caption", "must not be empty"));
        }
        if (!(learningRate > 0) || !Double.isFinite(learningRate)) {
            p.add(new Problem("learning_rate", "must be > 0, got " + learningRate));
        }
        if (!(weightDecay >= 0)) {
            p.add(new Problem("weight_decay", "must be >= 0, got " + weightDecay));
        }
        if (!(maxGradNorm >= 0)) {
            p.add(new Problem("max_grad_norm", "must be >= 0 (0 turns clipping off), got " + maxGradNorm));
        }
        if (resolution != null && (resolution < 8 || resolution > 2048)) {
            p.add(new Problem("resolution", "must be between 8 and 2048, got " + resolution));
        }
        for (String s : subjects) {
            if (heldOut.contains(s)) {
                p.add(new Problem("subjects", "'" + s + "' is held out"));
            }
        }
        return p;
    }

    public PretrainConfig validate() {
        List<Problem> p = problems();
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid pretraining config: " + Problem.join(p));
        }
        return this;
    }
}
