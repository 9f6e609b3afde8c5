package dev.selectune.jobs;

import dev.selectune.metrics.SelectuneMetrics;

import java.util.List;

/**
 * A durable queue whose running rows hold a worker's lease ({@link JobQueue}, the generation queue), as
 * {@link QueueMaintenance} keeps it: one schedule reaps every such queue's expired leases and reports its depth.
 */
public interface LeasedQueue {
    /** The queue's meters (its depth gauge, the counter its lost rows count in); its name in logs too. */
    SelectuneMetrics.Queue meters();

    /**
     * Requeues the running rows whose lease expired (their worker died or hung), or ends them: failed once their
     * attempts are spent, cancelled when a cancel was asked. Each change is one guarded UPDATE, which Postgres
     * re-checks against the row's latest version, so every replica may run it at once.
     */
    Reaped reapExpired();

    /** Rows queued now (all tenants). */
    long queueDepth();

    /** What {@link #reapExpired} did: the ids sent back to the queue and the ids failed, for logs and metrics. */
    record Reaped(List<String> requeued, List<String> failed) {
        public boolean isEmpty() {
            return requeued.isEmpty() && failed.isEmpty();
        }
    }
}
