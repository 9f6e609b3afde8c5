package dev.selectune.generations;

import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.WorkerPool;
import dev.selectune.metrics.SelectuneMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

/** The generation queue's upkeep, as the job queue's: its depth gauge, and the reaper where workers run. */
@Component
public class GenerationMaintenance {
    private static final Logger log = LoggerFactory.getLogger(GenerationMaintenance.class);

    private final GenerationQueue queue;
    private final SelectuneMetrics metrics;
    private final WorkerPool workers;
    private final boolean reap;

    public GenerationMaintenance(GenerationQueue queue, SelectuneMetrics metrics, WorkerPool workers,
                                 SelectuneProperties props) {
        this.queue = queue;
        this.metrics = metrics;
        this.workers = workers;
        this.reap = props.workers().enabled();
    }

    @Scheduled(fixedDelayString = "${selectune.workers.poll:PT2S}")
    public void tick() {
        try {
            if (reap) {
                GenerationQueue.Reaped reaped = queue.reapExpired();
                if (!reaped.requeued().isEmpty() || !reaped.failed().isEmpty()) {
                    log.warn("generation lease expired: requeued {}, failed {}", reaped.requeued(), reaped.failed());
                    metrics.generationsLost(reaped.failed().size());
                    workers.nudge();
                }
            }
            metrics.generationQueueDepth(queue.queueDepth());
        } catch (RuntimeException e) {
            log.warn("generation queue upkeep failed: {}", e.toString());
        }
    }
}
