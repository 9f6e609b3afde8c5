package dev.selectune.training;

/** Receives every step as it finishes, on the training thread. Keep it quick. */
@FunctionalInterface
public interface StepListener {
    void onStep(StepReport report);

    StepListener NONE = report -> { };
}
