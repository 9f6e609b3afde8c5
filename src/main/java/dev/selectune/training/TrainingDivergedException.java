package dev.selectune.training;

import dev.selectune.training.schedule.Strategy;

/**
 * A step whose loss or update is not finite: training stops there, so a job fails with this message instead of
 * publishing a LoRA of NaNs as a success. It is an {@link IllegalArgumentException} because the cause is the
 * job's own hyperparameters (a learning rate or loss weight too large for this model and data), not the service.
 */
public class TrainingDivergedException extends IllegalArgumentException {
    private final int step;

    private TrainingDivergedException(int step, String message) {
        super(message);
        this.step = step;
    }

    /** "step 12: loss is NaN (bp_low); lowering learning_rate may help". */
    static TrainingDivergedException loss(int step, Strategy strategy, double loss) {
        return new TrainingDivergedException(step, "step " + step + ": loss is " + loss + " (" + strategy.wireName()
                + "); " + hint(strategy));
    }

    /** The loss was finite but the update made a LoRA weight NaN or infinite (a non-finite gradient). */
    static TrainingDivergedException update(int step, Strategy strategy, String tensor) {
        return new TrainingDivergedException(step, "step " + step + ": the update made LoRA weight '" + tensor
                + "' non-finite (" + strategy.wireName() + "); " + hint(strategy));
    }

    private static String hint(Strategy strategy) {
        return strategy.isBackprop() ? "lowering learning_rate (or max_grad_norm) may help"
                : "lowering zo_learning_rate or zo_epsilon may help";
    }

    public int step() {
        return step;
    }
}
