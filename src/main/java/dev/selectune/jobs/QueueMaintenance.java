package dev.selectune.jobs;

import dev.selectune.config.SelectuneProperties;
import dev.selectune.metrics.SelectuneMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import java.util.List;

/**
 * Periodic upkeep of every {@link LeasedQueue} (jobs, generations) on every replica: each queue's depth gauge, and
 * (where workers run) the reaper that takes over rows whose worker stopped renewing its lease.
 */
@Component
public class QueueMaintenance {
    private static final Logger log = LoggerFactory.getLogger(QueueMaintenance.class);

    private final List<LeasedQueue> queues;
    private final SelectuneMetrics metrics;
    private final Runnable nudgeWorkers;
    private final boolean reap;

    @Autowired
    public QueueMaintenance(List<LeasedQueue> queues, SelectuneMetrics metrics, WorkerPool workers,
                            SelectuneProperties props) {
        this(queues, metrics, workers::nudge, props.workers().enabled());
    }

    QueueMaintenance(List<LeasedQueue> queues, SelectuneMetrics metrics, Runnable nudgeWorkers, boolean reap) {
        this.queues = List.copyOf(queues);
        this.metrics = metrics;
        this.nudgeWorkers = nudgeWorkers;
        this.reap = reap;
    }

    @Scheduled(fixedDelayString = "${selectune.workers.poll:PT2S}")
    public void tick() {
        queues.forEach(this::keep);
    }

    /** One queue's upkeep; should it fail, it is logged and the other queues' upkeep still runs. */
    private void keep(LeasedQueue queue) {
        SelectuneMetrics.Queue meters = queue.meters();
        try {
            if (reap) {
                LeasedQueue.Reaped reaped = queue.reapExpired();
                if (!reaped.isEmpty()) {
                    log.warn("{} lease expired: requeued {}, failed {}", meters.noun(), reaped.requeued(),
                            reaped.failed());
                    metrics.lost(meters, reaped.failed().size());
                    nudgeWorkers.run();
                }
            }
            metrics.queueDepth(meters, queue.queueDepth());
        } catch (RuntimeException e) {
            log.warn("{} queue upkeep failed: {}", meters.noun(), e.toString());
        }
    }
}
