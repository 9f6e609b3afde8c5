package dev.selectune.evaluation.io;

/** An evaluator folder, image or prompt list that cannot be used; the message names the file and key or item. */
public final class EvaluationException extends RuntimeException {
    public EvaluationException(String message) {
        super(message);
    }

    public EvaluationException(String message, Throwable cause) {
        super(message, cause);
    }
}
