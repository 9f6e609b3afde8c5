package dev.selectune.training;

import dev.selectune.util.Problem;
import java.util.List;

/**
 * The accepted range of one numeric hyperparameter, as its {@link Hyperparameter} declares it.
 * {@link TrainingConfig#problems()} checks every value against these (so the {@code train} command and
 * {@code POST /v1/jobs} refuse the same values) and a test holds openapi.yaml's {@code minimum} / {@code maximum}
 * to them. Every range is finite: a value that parses as infinity or NaN is outside it.
 *
 * <p>The bounds are wide enough for any sensible run and narrow enough that arithmetic stays finite: learning rates
 * and ZO scales at most 1, a LoRA scale (alpha / rank) of at most 1024, loss weights at most 100.
 *
 * @param name         the snake_case name, as the API and the error messages spell it
 * @param minExclusive true when {@code min} itself is refused (a rate or scale must be above 0)
 */
public record HyperparameterRange(String name, double min, boolean minExclusive, double max, boolean maxExclusive,
                                  boolean integer) {

    public boolean contains(double v) {
        return (minExclusive ? v > min : v >= min) && (maxExclusive ? v < max : v <= max);
    }

    /** Adds "name: must be in [min, max], got v" to {@code problems} when {@code v} is outside. */
    public void check(List<Problem> problems, double v) {
        if (!contains(v)) {
            problems.add(new Problem(name, "must be " + describe() + ", got " + (integer ? String.valueOf((long) v)
                    : String.valueOf(v))));
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
}
