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
        return builder().build();
    }

    /** A builder that starts at the defaults (the run kept as bench data). */
    public static Builder builder() {
        return new Builder();
    }

    /** Named setters, so that call sites read as options rather than eleven positional arguments. */
    public static final class Builder {
        private List<String> heldOut = DEFAULT_HELD_OUT;
        private List<String> subjects = List.of();
        private int steps = 900;
        private int batchSize = 8;
        private long seed = 0;
        private String caption = "a photo";
        private double learningRate = 1e-3;
        private double weightDecay = 1e-2;
        private double maxGradNorm = 1.0;
        private boolean horizontalFlip = true;
        private Integer resolution;

        private Builder() {
        }

        public Builder heldOut(List<String> v) { heldOut = v; return this; }
        public Builder subjects(List<String> v) { subjects = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder batchSize(int v) { batchSize = v; return this; }
        public Builder seed(long v) { seed = v; return this; }
        public Builder caption(String v) { caption = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder horizontalFlip(boolean v) { horizontalFlip = v; return this; }
        /** Null means the base model's native resolution. */
        public Builder resolution(Integer v) { resolution = v; return this; }

        public PretrainConfig build() {
            return new PretrainConfig(heldOut, subjects, steps, batchSize, seed, caption, learningRate, weightDecay,
                    maxGradNorm, horizontalFlip, resolution);
        }
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
