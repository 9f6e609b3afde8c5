package dev.selectune.training;

/** Asked between steps; once it says cancelled the trainer checkpoints and returns. */
@FunctionalInterface
public interface CancellationToken {
    boolean isCancelled();

    CancellationToken NEVER = () -> false;
}
