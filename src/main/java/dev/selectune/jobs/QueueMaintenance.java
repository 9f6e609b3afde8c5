package dev.selectune.jobs;

import dev.selectune.config.SelectuneProperties;
import dev.selectune.metrics.SelectuneMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/**
 * Periodic queue upkeep on every replica: the queue-depth gauge, and (where workers run) the reaper that takes
 * over jobs whose worker stopped renewing its lease.
 */
@Component
public class QueueMaintenance {
    private static final Logger log = LoggerFactory.getLogger(QueueMaintenance.class);

    private final JobQueue queue;
    private final SelectuneMetrics metrics;
    private final WorkerPool workers;
    private final boolean reap;

    public QueueMaintenance(JobQueue queue, SelectuneMetrics metrics, WorkerPool workers, SelectuneProperties props) {
        this.queue = queue;
        this.metrics = metrics;
        this.workers = workers;
        this.reap = props.workers().enabled();
    }

    @Scheduled(fixedDelayString = "${selectune.workers.poll:PT2S}")
    public void tick() {
        try {
            if (reap) {
                JobQueue.Reaped reaped = queue.reapExpired();
                if (!reaped.requeued().isEmpty() || !reaped.failed().isEmpty()) {
                    log.warn("lease expired: requeued {}, failed {}", reaped.requeued(), reaped.failed());
                    metrics.jobsLost(reaped.failed().size());
                    workers.nudge();
                }
            }
            metrics.queueDepth(queue.queueDepth());
        } catch (RuntimeException e) {
            log.warn("queue upkeep failed: {}", e.toString());
        }
    }
}
