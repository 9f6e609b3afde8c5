package dev.selectune.jobs;

import java.util.Locale;

/**
 * What a job event reports ({@code job_events.type}, the SSE event name and the API's {@code type}), with the level
 * it is always written at.
 */
public enum EventType {
    QUEUED(Level.INFO),
    CLAIMED(Level.INFO),
    RESUMED(Level.INFO),
    PROGRESS(Level.INFO),
    CHECKPOINT(Level.INFO),
    EVALUATING(Level.INFO),
    EVALUATED(Level.INFO),
    /** A worker stopping during the evaluation finishes the job without it (spelled with a hyphen since issue 14). */
    EVALUATION_SKIPPED(Level.WARNING, "evaluation-skipped"),
    CANCEL_REQUESTED(Level.INFO),
    RELEASED(Level.INFO),
    REQUEUED(Level.WARNING),
    SUCCEEDED(Level.INFO),
    CANCELLED(Level.INFO),
    FAILED(Level.ERROR);

    /** {@code job_events.level}. */
    public enum Level {
        INFO, WARNING, ERROR;

        public String wireName() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    private final Level level;
    private final String wireName;

    EventType(Level level) {
        this.level = level;
        this.wireName = name().toLowerCase(Locale.ROOT);
    }

    EventType(Level level, String wireName) {
        this.level = level;
        this.wireName = wireName;
    }

    public Level level() {
        return level;
    }

    public String wireName() {
        return wireName;
    }

    /** The event that records a job's final status. */
    public static EventType finished(JobStatus status) {
        return switch (status) {
            case SUCCEEDED -> SUCCEEDED;
            case CANCELLED -> CANCELLED;
            case FAILED -> FAILED;
            default -> throw new IllegalArgumentException(status + " is not a final status");
        };
    }
}
