package dev.selectune.training;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

/**
 * Declares one training option on a component of {@link TrainingConfig}: the component's name and type, with this,
 * are the option's only definition. {@link HyperparameterSet} reads them, and from it the builder takes its
 * defaults, {@link TrainingConfig#problems()} its bounds, the job spec's JSON its names and types, the
 * {@code train} command its flags and help, and the checkpoint fingerprint the options that shape the LoRA.
 * The JSON name is the snake_case form of the component's name, the flag its kebab-case form.
 */
@Retention(RetentionPolicy.RUNTIME)
@Target(ElementType.RECORD_COMPONENT)
public @interface Hyperparameter {
    /** The default in the option's wire form ({@code "1e-4"}, {@code "dtap"}); empty means none (null). */
    String defaultValue() default "";

    /** What it does, for the CLI's help (and where it comes from, when that helps choose a value). */
    String description();

    /** Bounds of a numeric option; NaN (the default) means it has none. Every bounded option's range is finite. */
    double min() default Double.NaN;

    double max() default Double.NaN;

    /** True when {@link #min()} itself is refused (a rate or scale must be above 0). */
    boolean minExclusive() default false;

    boolean maxExclusive() default false;

    /** An integer option must be a multiple of this (the resolution: of 8, the VAE's scale factor). */
    int multipleOf() default 1;

    /** The values a string option may take; empty means any text. */
    String[] choices() default {};

    /** CLI names, when not {@code --} plus the kebab-case name (the first is the main one). */
    String[] flags() default {};

    /** The CLI requires it (the JSON spec reports a missing one through {@link TrainingConfig#problems()}). */
    boolean required() default false;

    /**
     * False for options that cannot change the trained LoRA (samples, checkpoint cadence, how activations are
     * kept): a checkpoint resumes across a change of these. See {@link HyperparameterSet#canonical}.
     */
    boolean shapesLora() default true;
}
