package dev.selectune.jobs;

/**
 * Why a running job should stop before its last step, in increasing precedence: a job both cancelled and on a
 * stopping worker is cancelled (not put back in the queue), and one whose lease is lost writes nothing at all.
 */
public enum StopReason {
    /** The worker is shutting down: checkpoint and put the job back in the queue for another worker. */
    SHUTDOWN,
    /** A client cancelled the job: store the LoRA so far and finish it as cancelled. */
    CANCEL_REQUESTED,
    /** Another claim owns the job now: stop and write nothing more. */
    LEASE_LOST;

    /** The reason that wins when both are given. */
    StopReason and(StopReason other) {
        return other == null || ordinal() >= other.ordinal() ? this : other;
    }
}
