package dev.selectune.training;

import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.training.schedule.Schedule;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * Everything a selective-optimization DreamBooth-LoRA job takes, with its defaults. The JSON and CLI names are the
 * snake_case forms of the field names ({@code resizeRatio} is {@code resize_ratio}).
 *
 * <p>Where each default comes from:
 * <ul>
 *   <li>{@code schedule=dtap}, {@code k=0.05}, {@code tMid=750}, {@code tMax=1000}, {@code steps=1000}
 *       ({@code i_max}), {@code resizeRatio=0.5}, {@code rank=4}: the paper (Fig. 2, Sec. 3.1, Tab. 1).</li>
 *   <li>{@code learningRate=1e-4}, AdamW betas (0.9, 0.999), eps 1e-8, {@code weightDecay=1e-2},
 *       {@code maxGradNorm=1.0}, {@code loraAlpha=rank}: diffusers' {@code train_dreambooth_lora.py}.</li>
 *   <li>{@code zoEpsilon=1e-3}: MeZO's default perturbation scale. {@code zoLearningRate=1e-4}: the top of MeZO's
 *       LoRA grid. {@code zoPerturbations=4}: the paper accumulates N estimates but does not give N; 4 halves the
 *       estimate's spread at 8 forwards per ZO step.</li>
 *   <li>{@code priorLossWeight=1.0}: DreamBooth's prior-preservation weight, used only with a class prompt and
 *       {@code numClassImages > 0}.</li>
 *   <li>{@code validationSteps=25}, {@code guidanceScale=7.5}: diffusers' pipeline defaults (with 25 DDIM steps).</li>
 * </ul>
 *
 * @param resolution high resolution in pixels; null means the base model's native size
 *                   (UNet {@code sample_size} x VAE scale factor)
 * @param loraAlpha  null means equal to the rank (scale 1)
 * @param seed       null means "choose one"; the chosen seed is reported with the result
 * @param precision  {@code auto} (fp16 weights on a GPU, fp32 on the CPU), {@code fp32} or {@code fp16}
 * @param weightsDtype the dtype the frozen weights are held in: {@code auto} (the compute precision's),
 *                   {@code fp32} or {@code fp16} (half the resident weights; each layer upcasts its weight when used,
 *                   LoRA, optimizer state and activations stay in the compute precision)
 */
public record TrainingConfig(
        String instancePrompt,
        String classPrompt,
        List<String> validationPrompts,
        Schedule schedule,
        int steps,
        Long seed,
        Integer resolution,
        double resizeRatio,
        int rank,
        Double loraAlpha,
        double learningRate,
        double adamBeta1,
        double adamBeta2,
        double adamEpsilon,
        double weightDecay,
        double maxGradNorm,
        int zoPerturbations,
        double zoEpsilon,
        double zoLearningRate,
        double k,
        double tMid,
        double tMax,
        boolean gradientCheckpointing,
        boolean horizontalFlip,
        int checkpointEvery,
        int numClassImages,
        double priorLossWeight,
        int validationSteps,
        double guidanceScale,
        String precision,
        String weightsDtype) {

    public static final int MAX_VALIDATION_PROMPTS = 16;
    public static final int MAX_PROMPT_CHARS = 2000;

    public TrainingConfig {
        // Not List.copyOf: a null element (JSON [null]) must reach problems(), which names it, not throw here.
        validationPrompts = validationPrompts == null ? List.of()
                : Collections.unmodifiableList(new ArrayList<>(validationPrompts));
        schedule = schedule == null ? Schedule.DTAP : schedule;
        precision = precision == null ? "auto" : precision;
        weightsDtype = weightsDtype == null ? "auto" : weightsDtype;
    }

    /** The defaults, for an instance prompt. */
    public static Builder builder(String instancePrompt) {
        return new Builder().instancePrompt(instancePrompt);
    }

    public float loraAlphaOrRank() {
        return loraAlpha == null ? rank : loraAlpha.floatValue();
    }

    /**
     * Checks every field and returns the problems, each as "field_name: what is wrong" (snake_case names, as the
     * API spells them). Empty means valid.
     */
    public List<String> problems() {
        List<String> p = new ArrayList<>();
        if (instancePrompt == null || instancePrompt.isBlank()) {
            p.add("instance_prompt: must not be empty");
        }
        text(p, "instance_prompt", instancePrompt);
        text(p, "class_prompt", classPrompt);
        HyperparameterRange.STEPS.check(p, steps);
        if (resolution != null && (!HyperparameterRange.RESOLUTION.contains(resolution) || resolution % 8 != 0)) {
            p.add("resolution: must be a multiple of 8 " + HyperparameterRange.RESOLUTION.describe() + ", got "
                    + resolution);
        }
        HyperparameterRange.RESIZE_RATIO.check(p, resizeRatio);
        HyperparameterRange.RANK.check(p, rank);
        if (loraAlpha != null) {
            HyperparameterRange.LORA_ALPHA.check(p, loraAlpha);
        }
        HyperparameterRange.LEARNING_RATE.check(p, learningRate);
        HyperparameterRange.ADAM_BETA1.check(p, adamBeta1);
        HyperparameterRange.ADAM_BETA2.check(p, adamBeta2);
        HyperparameterRange.ADAM_EPSILON.check(p, adamEpsilon);
        HyperparameterRange.WEIGHT_DECAY.check(p, weightDecay);
        HyperparameterRange.MAX_GRAD_NORM.check(p, maxGradNorm);
        HyperparameterRange.ZO_PERTURBATIONS.check(p, zoPerturbations);
        HyperparameterRange.ZO_EPSILON.check(p, zoEpsilon);
        HyperparameterRange.ZO_LEARNING_RATE.check(p, zoLearningRate);
        HyperparameterRange.K.check(p, k);
        if (k == 0) {
            p.add("k: must not be 0 (a flat sigmoid picks ZO and BP at random)");
        }
        HyperparameterRange.T_MAX.check(p, tMax);
        HyperparameterRange.T_MID.check(p, tMid);
        if (tMid > tMax) {
            p.add("t_mid: must not exceed t_max (" + tMax + "), got " + tMid);
        }
        HyperparameterRange.CHECKPOINT_EVERY.check(p, checkpointEvery);
        HyperparameterRange.NUM_CLASS_IMAGES.check(p, numClassImages);
        if (numClassImages > 0 && (classPrompt == null || classPrompt.isBlank())) {
            p.add("class_prompt: required when num_class_images > 0");
        }
        HyperparameterRange.PRIOR_LOSS_WEIGHT.check(p, priorLossWeight);
        if (validationPrompts.size() > MAX_VALIDATION_PROMPTS) {
            p.add("validation_prompts: at most " + MAX_VALIDATION_PROMPTS + ", got " + validationPrompts.size());
        }
        for (int i = 0; i < validationPrompts.size(); i++) {
            String prompt = validationPrompts.get(i);
            if (prompt == null) {
                p.add("validation_prompts[" + i + "]: must be a string, got null");
            } else if (prompt.isBlank()) {
                p.add("validation_prompts[" + i + "]: must not be empty");
            } else {
                text(p, "validation_prompts[" + i + "]", prompt);
            }
        }
        HyperparameterRange.VALIDATION_STEPS.check(p, validationSteps);
        HyperparameterRange.GUIDANCE_SCALE.check(p, guidanceScale);
        if (!List.of("auto", "fp32", "fp16").contains(precision)) {
            p.add("precision: must be auto, fp32 or fp16, got " + precision);
        }
        if (!WeightsDtype.isValid(weightsDtype)) {
            p.add("weights_dtype: must be auto, fp32 or fp16, got " + weightsDtype);
        }
        return p;
    }

    /**
     * A prompt: at most {@link #MAX_PROMPT_CHARS} characters (CLIP reads 77 tokens anyway) and no control
     * characters other than tab and line breaks (a NUL cannot even be stored in PostgreSQL text).
     */
    private static void text(List<String> p, String name, String value) {
        if (value == null) {
            return;
        }
        if (value.length() > MAX_PROMPT_CHARS) {
            p.add(name + ": at most " + MAX_PROMPT_CHARS + " characters, got " + value.length());
        }
        int bad = firstControlCharacter(value);
        if (bad >= 0) {
            p.add(name + ": must not contain control characters, found U+"
                    + String.format("%04X", (int) value.charAt(bad)) + " at index " + bad);
        }
    }

    /** The index of the first control character other than tab, CR and LF, or -1. */
    public static int firstControlCharacter(String s) {
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (Character.isISOControl(c) && c != '\t' && c != '\n' && c != '\r') {
                return i;
            }
        }
        return -1;
    }

    /** Throws {@link IllegalArgumentException} listing every problem. */
    public TrainingConfig validate() {
        List<String> p = problems();
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid training config: " + String.join("; ", p));
        }
        return this;
    }

    public Builder toBuilder() {
        Builder b = new Builder();
        b.instancePrompt = instancePrompt;
        b.classPrompt = classPrompt;
        b.validationPrompts = validationPrompts;
        b.schedule = schedule;
        b.steps = steps;
        b.seed = seed;
        b.resolution = resolution;
        b.resizeRatio = resizeRatio;
        b.rank = rank;
        b.loraAlpha = loraAlpha;
        b.learningRate = learningRate;
        b.adamBeta1 = adamBeta1;
        b.adamBeta2 = adamBeta2;
        b.adamEpsilon = adamEpsilon;
        b.weightDecay = weightDecay;
        b.maxGradNorm = maxGradNorm;
        b.zoPerturbations = zoPerturbations;
        b.zoEpsilon = zoEpsilon;
        b.zoLearningRate = zoLearningRate;
        b.k = k;
        b.tMid = tMid;
        b.tMax = tMax;
        b.gradientCheckpointing = gradientCheckpointing;
        b.horizontalFlip = horizontalFlip;
        b.checkpointEvery = checkpointEvery;
        b.numClassImages = numClassImages;
        b.priorLossWeight = priorLossWeight;
        b.validationSteps = validationSteps;
        b.guidanceScale = guidanceScale;
        b.precision = precision;
        b.weightsDtype = weightsDtype;
        return b;
    }

    /** Builder whose initial values are the documented defaults. */
    public static final class Builder {
        private String instancePrompt;
        private String classPrompt;
        private List<String> validationPrompts = List.of();
        private Schedule schedule = Schedule.DTAP;
        private int steps = 1000;
        private Long seed;
        private Integer resolution;
        private double resizeRatio = 0.5;
        private int rank = 4;
        private Double loraAlpha;
        private double learningRate = 1e-4;
        private double adamBeta1 = 0.9;
        private double adamBeta2 = 0.999;
        private double adamEpsilon = 1e-8;
        private double weightDecay = 1e-2;
        private double maxGradNorm = 1.0;
        private int zoPerturbations = 4;
        private double zoEpsilon = 1e-3;
        private double zoLearningRate = 1e-4;
        private double k = 0.05;
        private double tMid = 750;
        private double tMax = 1000;
        private boolean gradientCheckpointing;
        private boolean horizontalFlip;
        private int checkpointEvery = 50;
        private int numClassImages;
        private double priorLossWeight = 1.0;
        private int validationSteps = 25;
        private double guidanceScale = 7.5;
        private String precision = "auto";
        private String weightsDtype = "auto";

        public Builder instancePrompt(String v) { instancePrompt = v; return this; }
        public Builder classPrompt(String v) { classPrompt = v; return this; }
        public Builder validationPrompts(List<String> v) { validationPrompts = Objects.requireNonNullElse(v, List.of()); return this; }
        public Builder schedule(Schedule v) { schedule = v; return this; }
        public Builder steps(int v) { steps = v; return this; }
        public Builder seed(Long v) { seed = v; return this; }
        public Builder resolution(Integer v) { resolution = v; return this; }
        public Builder resizeRatio(double v) { resizeRatio = v; return this; }
        public Builder rank(int v) { rank = v; return this; }
        public Builder loraAlpha(Double v) { loraAlpha = v; return this; }
        public Builder learningRate(double v) { learningRate = v; return this; }
        public Builder adamBeta1(double v) { adamBeta1 = v; return this; }
        public Builder adamBeta2(double v) { adamBeta2 = v; return this; }
        public Builder adamEpsilon(double v) { adamEpsilon = v; return this; }
        public Builder weightDecay(double v) { weightDecay = v; return this; }
        public Builder maxGradNorm(double v) { maxGradNorm = v; return this; }
        public Builder zoPerturbations(int v) { zoPerturbations = v; return this; }
        public Builder zoEpsilon(double v) { zoEpsilon = v; return this; }
        public Builder zoLearningRate(double v) { zoLearningRate = v; return this; }
        public Builder k(double v) { k = v; return this; }
        public Builder tMid(double v) { tMid = v; return this; }
        public Builder tMax(double v) { tMax = v; return this; }
        public Builder gradientCheckpointing(boolean v) { gradientCheckpointing = v; return this; }
        public Builder horizontalFlip(boolean v) { horizontalFlip = v; return this; }
        public Builder checkpointEvery(int v) { checkpointEvery = v; return this; }
        public Builder numClassImages(int v) { numClassImages = v; return this; }
        public Builder priorLossWeight(double v) { priorLossWeight = v; return this; }
        public Builder validationSteps(int v) { validationSteps = v; return this; }
        public Builder guidanceScale(double v) { guidanceScale = v; return this; }
        public Builder precision(String v) { precision = v; return this; }
        public Builder weightsDtype(String v) { weightsDtype = v; return this; }

        public TrainingConfig build() {
            return new TrainingConfig(instancePrompt, classPrompt, validationPrompts, schedule, steps, seed, resolution,
                    resizeRatio, rank, loraAlpha, learningRate, adamBeta1, adamBeta2, adamEpsilon, weightDecay,
                    maxGradNorm, zoPerturbations, zoEpsilon, zoLearningRate, k, tMid, tMax, gradientCheckpointing,
                    horizontalFlip, checkpointEvery, numClassImages, priorLossWeight, validationSteps, guidanceScale,
                    precision, weightsDtype);
        }
    }
}
