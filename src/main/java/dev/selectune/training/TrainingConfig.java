package dev.selectune.training;

import dev.selectune.util.Problem;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.training.schedule.Schedule;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Map;

/**
 * Everything a selective-optimization DreamBooth-LoRA job takes, with its defaults: the one definition of the
 * training options. Each component's {@link Hyperparameter} gives its default, bounds, help and CLI flag; the JSON
 * name is the snake_case form of the component's name ({@code resizeRatio} is {@code resize_ratio}), the flag its
 * kebab-case form ({@code --resize-ratio}). {@link #HYPERPARAMETERS} reads them for the builder, the validation,
 * the job spec's JSON, the {@code train} command and the checkpoint fingerprint (docs/training.md, "Adding a
 * hyperparameter").
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
        @Hyperparameter(flags = "--prompt", required = true,
                description = "instance prompt, e.g. \"a photo of sks dog\"")
        String instancePrompt,
        @Hyperparameter(description = "class prompt for prior preservation, e.g. \"a photo of a dog\"")
        String classPrompt,
        @Hyperparameter(flags = "--validation-prompt", shapesLora = false,
                description = "prompts of the samples made after training (repeatable; one sample-N.png each)")
        List<String> validationPrompts,
        @Hyperparameter(defaultValue = "dtap", description = "how each step picks BP-low, BP-high or ZO-high")
        Schedule schedule,
        @Hyperparameter(defaultValue = "1000", min = 1, max = 100_000, description = "training steps (i_max)")
        int steps,
        @Hyperparameter(description = "the job's seed; absent: one is chosen and reported")
        Long seed,
        @Hyperparameter(min = 64, max = 2048, multipleOf = 8,
                description = "high resolution in pixels; absent: the base model's native size")
        Integer resolution,
        @Hyperparameter(defaultValue = "0.5", min = 0.01, max = 1, flags = {"--resize-ratio", "-r"},
                description = "low resolution / high resolution")
        double resizeRatio,
        @Hyperparameter(defaultValue = "4", min = 1, max = 256, description = "LoRA rank")
        int rank,
        @Hyperparameter(min = 0, minExclusive = true, max = 1024, description = "LoRA alpha; absent: the rank")
        Double loraAlpha,
        @Hyperparameter(defaultValue = "1e-4", min = 0, minExclusive = true, max = 1, description = "AdamW learning rate")
        double learningRate,
        @Hyperparameter(defaultValue = "0.9", min = 0, max = 1, maxExclusive = true, description = "AdamW beta1")
        double adamBeta1,
        @Hyperparameter(defaultValue = "0.999", min = 0, max = 1, maxExclusive = true, description = "AdamW beta2")
        double adamBeta2,
        @Hyperparameter(defaultValue = "1e-8", min = 0, minExclusive = true, max = 1, description = "AdamW epsilon")
        double adamEpsilon,
        @Hyperparameter(defaultValue = "1e-2", min = 0, max = 1, description = "AdamW weight decay")
        double weightDecay,
        @Hyperparameter(defaultValue = "1.0", min = 0, max = 1000, description = "gradient clipping norm (0: none)")
        double maxGradNorm,
        @Hyperparameter(defaultValue = "4", min = 1, max = 1000, description = "ZO estimates averaged per ZO step")
        int zoPerturbations,
        @Hyperparameter(defaultValue = "1e-3", min = 0, minExclusive = true, max = 1,
                description = "MeZO perturbation scale")
        double zoEpsilon,
        @Hyperparameter(defaultValue = "1e-4", min = 0, minExclusive = true, max = 1,
                description = "MeZO learning rate")
        double zoLearningRate,
        @Hyperparameter(defaultValue = "0.05", min = -10, max = 10,
                description = "DTAP/TAP sigmoid steepness; not 0")
        double k,
        @Hyperparameter(defaultValue = "750", min = 0, max = 1000, description = "TAP sigmoid midpoint; at most t_max")
        double tMid,
        @Hyperparameter(defaultValue = "1000", min = 0, minExclusive = true, max = 1000,
                description = "DTAP's final midpoint")
        double tMax,
        @Hyperparameter(defaultValue = "false", shapesLora = false,
                description = "recompute activations in the backward pass (less memory, same gradients)")
        boolean gradientCheckpointing,
        @Hyperparameter(defaultValue = "false", description = "also train on the mirrored images")
        boolean horizontalFlip,
        @Hyperparameter(defaultValue = "50", min = 0, max = 100_000, shapesLora = false,
                description = "checkpoint every N steps (0: only on cancel)")
        int checkpointEvery,
        @Hyperparameter(defaultValue = "0", min = 0, max = 1000,
                description = "class images generated for prior preservation (needs a class prompt)")
        int numClassImages,
        @Hyperparameter(defaultValue = "1.0", min = 0, max = 100, description = "prior-preservation loss weight")
        double priorLossWeight,
        @Hyperparameter(defaultValue = "25", min = 1, max = 200, shapesLora = false,
                description = "sampling steps of the samples")
        int validationSteps,
        @Hyperparameter(defaultValue = "7.5", min = 0, max = 50, shapesLora = false,
                description = "guidance scale of the samples")
        double guidanceScale,
        @Hyperparameter(defaultValue = "auto", choices = {"auto", "fp32", "fp16"},
                description = "compute precision: auto (fp16 on a GPU, fp32 on the CPU), fp32 or fp16")
        String precision,
        @Hyperparameter(defaultValue = "auto", choices = {"auto", "fp32", "fp16"},
                description = "frozen weights held as auto (the precision's), fp32 or fp16 (half the memory on the "
                        + "CPU; computed in the precision)")
        String weightsDtype) {

    /** The options above, read once: defaults, bounds, JSON names, CLI flags. */
    public static final HyperparameterSet<TrainingConfig> HYPERPARAMETERS = HyperparameterSet.of(TrainingConfig.class);
    public static final int MAX_VALIDATION_PROMPTS = 16;
    public static final int MAX_PROMPT_CHARS = 2000;

    public TrainingConfig {
        // Not List.copyOf: a null element (JSON [null]) must reach problems(), which names it, not throw here.
        validationPrompts = validationPrompts == null ? List.of()
                : Collections.unmodifiableList(new ArrayList<>(validationPrompts));
    }

    /** The defaults, for an instance prompt. */
    public static Builder builder(String instancePrompt) {
        return new Builder(HYPERPARAMETERS.defaults()).instancePrompt(instancePrompt);
    }

    public float loraAlphaOrRank() {
        return loraAlpha == null ? rank : loraAlpha.floatValue();
    }

    /**
     * Checks every field and returns the problems, each as "field_name: what is wrong" (snake_case names, as the
     * API spells them). Empty means valid.
     */
    public List<Problem> problems() {
        List<Problem> p = new ArrayList<>();
        if (instancePrompt == null || instancePrompt.isBlank()) {
            p.add(new Problem("instance_prompt", "must not be empty"));
        }
        text(p, "instance_prompt", instancePrompt);
        text(p, "class_prompt", classPrompt);
        HYPERPARAMETERS.check(this, p);
        if (k == 0) {
            p.add(new Problem("k", "must not be 0 (a flat sigmoid picks ZO and BP at random)"));
        }
        if (tMid > tMax) {
            p.add(new Problem("t_mid", "must not exceed t_max (" + tMax + "), got " + tMid));
        }
        if (numClassImages > 0 && (classPrompt == null || classPrompt.isBlank())) {
            p.add(new Problem("class_prompt", "required when num_class_images > 0"));
        }
        if (validationPrompts.size() > MAX_VALIDATION_PROMPTS) {
            p.add(new Problem("validation_prompts", "at most " + MAX_VALIDATION_PROMPTS + ", got " + validationPrompts.size()));
        }
        for (int i = 0; i < validationPrompts.size(); i++) {
            String prompt = validationPrompts.get(i);
            if (prompt == null) {
                p.add(new Problem("validation_prompts[" + i + "]", "must be a string, got null"));
            } else if (prompt.isBlank()) {
                p.add(new Problem("validation_prompts[" + i + "]", "must not be empty"));
            } else {
                text(p, "validation_prompts[" + i + "]", prompt);
            }
        }
        return p;
    }

    /**
     * A prompt: at most {@link #MAX_PROMPT_CHARS} characters (CLIP reads 77 tokens anyway) and no control
     * characters other than tab and line breaks (a NUL cannot even be stored in PostgreSQL text).
     */
    private static void text(List<Problem> p, String name, String value) {
        if (value == null) {
            return;
        }
        if (value.length() > MAX_PROMPT_CHARS) {
            p.add(new Problem(name, "at most " + MAX_PROMPT_CHARS + " characters, got " + value.length()));
        }
        int bad = firstControlCharacter(value);
        if (bad >= 0) {
            p.add(new Problem(name, "must not contain control characters, found U+"
                    + String.format("%04X", (int) value.charAt(bad)) + " at index " + bad));
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
        List<Problem> p = problems();
        if (!p.isEmpty()) {
            throw new IllegalArgumentException("invalid training config: " + Problem.join(p));
        }
        return this;
    }

    public Builder toBuilder() {
        return new Builder(HYPERPARAMETERS.values(this));
    }

    /**
     * Builder whose initial values are the defaults. {@link #set} takes any option by its JSON name; the typed
     * setters are Java's shorthand for it (a test holds each to the component of its name), so an option that
     * Java code does not set needs none.
     */
    public static final class Builder {
        private final Map<String, Object> values;

        private Builder(Map<String, Object> values) {
            this.values = values;
        }

        /** Sets the option {@code name} (its JSON name) to {@code value}, a Java value; null means its default. */
        public Builder set(String name, Object value) {
            values.put(HYPERPARAMETERS.get(name).name(), value);
            return this;
        }

        public Builder instancePrompt(String v) { return set("instance_prompt", v); }
        public Builder classPrompt(String v) { return set("class_prompt", v); }
        public Builder validationPrompts(List<String> v) { return set("validation_prompts", v); }
        public Builder schedule(Schedule v) { return set("schedule", v); }
        public Builder steps(int v) { return set("steps", v); }
        public Builder seed(Long v) { return set("seed", v); }
        public Builder resolution(Integer v) { return set("resolution", v); }
        public Builder resizeRatio(double v) { return set("resize_ratio", v); }
        public Builder rank(int v) { return set("rank", v); }
        public Builder loraAlpha(Double v) { return set("lora_alpha", v); }
        public Builder learningRate(double v) { return set("learning_rate", v); }
        public Builder adamBeta1(double v) { return set("adam_beta1", v); }
        public Builder adamBeta2(double v) { return set("adam_beta2", v); }
        public Builder adamEpsilon(double v) { return set("adam_epsilon", v); }
        public Builder weightDecay(double v) { return set("weight_decay", v); }
        public Builder maxGradNorm(double v) { return set("max_grad_norm", v); }
        public Builder zoPerturbations(int v) { return set("zo_perturbations", v); }
        public Builder zoEpsilon(double v) { return set("zo_epsilon", v); }
        public Builder zoLearningRate(double v) { return set("zo_learning_rate", v); }
        public Builder k(double v) { return set("k", v); }
        public Builder tMid(double v) { return set("t_mid", v); }
        public Builder tMax(double v) { return set("t_max", v); }
        public Builder gradientCheckpointing(boolean v) { return set("gradient_checkpointing", v); }
        public Builder horizontalFlip(boolean v) { return set("horizontal_flip", v); }
        public Builder checkpointEvery(int v) { return set("checkpoint_every", v); }
        public Builder numClassImages(int v) { return set("num_class_images", v); }
        public Builder priorLossWeight(double v) { return set("prior_loss_weight", v); }
        public Builder validationSteps(int v) { return set("validation_steps", v); }
        public Builder guidanceScale(double v) { return set("guidance_scale", v); }
        public Builder precision(String v) { return set("precision", v); }
        public Builder weightsDtype(String v) { return set("weights_dtype", v); }

        public TrainingConfig build() {
            return HYPERPARAMETERS.create(values);
        }
    }
}
