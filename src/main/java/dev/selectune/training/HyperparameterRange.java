package dev.selectune.training;

import java.util.List;

/**
 * The accepted range of one numeric hyperparameter: the only definition of it. {@link TrainingConfig#problems()}
 * checks every value against these (so the {@code train} command and {@code POST /v1/jobs} refuse the same values)
 * and a test holds openapi.yaml's {@code minimum} / {@code maximum} to them. Every range is finite: a value that
 * parses as infinity or NaN is outside it.
 *
 * <p>The bounds are wide enough for any sensible run and narrow enough that arithmetic stays finite: learning rates
 * and ZO scales at most 1, a LoRA scale (alpha / rank) of at most 1024, loss weights at most 100.
 *
 * @param name         the snake_case name, as the API and the error messages spell it
 * @param minExclusive true when {@code min} itself is refused (a rate or scale must be above 0)
 */
public record HyperparameterRange(String name, double min, boolean minExclusive, double max, boolean maxExclusive,
                                  boolean integer) {

    public static final HyperparameterRange STEPS = ints("steps", 1, 100_000);
    public static final HyperparameterRange RESOLUTION = ints("resolution", 64, 2048);
    public static final HyperparameterRange RESIZE_RATIO = closed("resize_ratio", 0.01, 1);
    public static final HyperparameterRange RANK = ints("rank", 1, 256);
    public static final HyperparameterRange LORA_ALPHA = aboveZero("lora_alpha", 1024);
    public static final HyperparameterRange LEARNING_RATE = aboveZero("learning_rate", 1);
    public static final HyperparameterRange ADAM_BETA1 = new HyperparameterRange("adam_beta1", 0, false, 1, true, false);
    public static final HyperparameterRange ADAM_BETA2 = new HyperparameterRange("adam_beta2", 0, false, 1, true, false);
    public static final HyperparameterRange ADAM_EPSILON = aboveZero("adam_epsilon", 1);
    public static final HyperparameterRange WEIGHT_DECAY = closed("weight_decay", 0, 1);
    public static final HyperparameterRange MAX_GRAD_NORM = closed("max_grad_norm", 0, 1000);
    public static final HyperparameterRange ZO_PERTURBATIONS = ints("zo_perturbations", 1, 1000);
    public static final HyperparameterRange ZO_EPSILON = aboveZero("zo_epsilon", 1);
    public static final HyperparameterRange ZO_LEARNING_RATE = aboveZero("zo_learning_rate", 1);
    /** Also not 0: a flat sigmoid would make the schedule a coin toss. */
    public static final HyperparameterRange K = closed("k", -10, 10);
    public static final HyperparameterRange T_MID = closed("t_mid", 0, 1000);
    public static final HyperparameterRange T_MAX = new HyperparameterRange("t_max", 0, true, 1000, false, false);
    public static final HyperparameterRange CHECKPOINT_EVERY = ints("checkpoint_every", 0, 100_000);
    public static final HyperparameterRange NUM_CLASS_IMAGES = ints("num_class_images", 0, 1000);
    public static final HyperparameterRange PRIOR_LOSS_WEIGHT = closed("prior_loss_weight", 0, 100);
    public static final HyperparameterRange VALIDATION_STEPS = ints("validation_steps", 1, 200);
    public static final HyperparameterRange GUIDANCE_SCALE = closed("guidance_scale", 0, 50);

    public static final List<HyperparameterRange> ALL = List.of(STEPS, RESOLUTION, RESIZE_RATIO, RANK, LORA_ALPHA,
            LEARNING_RATE, ADAM_BETA1, ADAM_BETA2, ADAM_EPSILON, WEIGHT_DECAY, MAX_GRAD_NORM, ZO_PERTURBATIONS,
            ZO_EPSILON, ZO_LEARNING_RATE, K, T_MID, T_MAX, CHECKPOINT_EVERY, NUM_CLASS_IMAGES, PRIOR_LOSS_WEIGHT,
            VALIDATION_STEPS, GUIDANCE_SCALE);

    public boolean contains(double v) {
        return (minExclusive ? v > min : v >= min) && (maxExclusive ? v < max : v <= max);
    }

    /** Adds "name: must be in [min, max], got v" to {@code problems} when {@code v} is outside. */
    public void check(List<String> problems, double v) {
        if (!contains(v)) {
            problems.add(name + ": must be " + describe() + ", got " + (integer ? String.valueOf((long) v)
                    : String.valueOf(v)));
        }
    }

    /** "between 1 and 256" for integers, "in (0, 1]" for numbers. */
    public String describe() {
        if (integer) {
            return "between " + format(min) + " and " + format(max);
        }
        return "in " + (minExclusive ? "(" : "[") + format(min) + ", " + format(max) + (maxExclusive ? ")" : "]");
    }

    private static String format(double v) {
        return v == Math.rint(v) && Math.abs(v) < 1e15 ? String.valueOf((long) v) : String.valueOf(v);
    }

    private static HyperparameterRange ints(String name, int min, int max) {
        return new HyperparameterRange(name, min, false, max, false, true);
    }

    private static HyperparameterRange closed(String name, double min, double max) {
        return new HyperparameterRange(name, min, false, max, false, false);
    }

    private static HyperparameterRange aboveZero(String name, double max) {
        return new HyperparameterRange(name, 0, true, max, false, false);
    }
}
