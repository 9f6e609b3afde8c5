package dev.selectune.diffusion;

/** A pipeline folder that cannot be loaded: a missing component or file, or a config this code cannot build. */
public class PipelineException extends RuntimeException {
    public PipelineException(String message) {
        super(message);
    }

    public PipelineException(String message, Throwable cause) {
        super(message, cause);
    }
}
