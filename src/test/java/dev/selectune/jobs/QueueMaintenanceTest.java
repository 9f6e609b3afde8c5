package dev.selectune.jobs;

import dev.selectune.metrics.SelectuneMetrics;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The one schedule over every {@link LeasedQueue}: each tick reaps each queue and reports its own meters, and a
 * queue whose upkeep fails leaves the others' upkeep running. (The reaping SQL itself runs against Postgres in
 * JobQueueTest and GenerationLeaseTest.)
 */
class QueueMaintenanceTest {
    private final MeterRegistry registry = new SimpleMeterRegistry();
    private final SelectuneMetrics metrics = new SelectuneMetrics(registry);
    private final AtomicInteger nudges = new AtomicInteger();

    @Test
    void oneTickReapsEveryQueueAndReportsEachOnItsOwnMeters() {
        FakeQueue jobs = new FakeQueue(SelectuneMetrics.Queue.JOBS, List.of("job_a"), List.of("job_b"), 3);
        FakeQueue generations = new FakeQueue(SelectuneMetrics.Queue.GENERATIONS, List.of(),
                List.of("gen_a", "gen_b"), 5);
        new QueueMaintenance(List.of(jobs, generations), metrics, nudges::incrementAndGet, true).tick();

        assertThat(jobs.reaps).isEqualTo(1);
        assertThat(generations.reaps).isEqualTo(1);
        assertThat(registry.get("selectune.queue.depth").gauge().value()).isEqualTo(3);
        assertThat(registry.get("selectune.generations.queue.depth").gauge().value()).isEqualTo(5);
        assertThat(registry.get("selectune.jobs").tag("outcome", "failed").counter().count()).isEqualTo(1);
        assertThat(registry.get("selectune.generations").tag("status", "failed").counter().count()).isEqualTo(2);
        assertThat(nudges).hasValue(2);
    }

    @Test
    void aQueueWithNothingExpiredOnlyReportsItsDepth() {
        FakeQueue jobs = new FakeQueue(SelectuneMetrics.Queue.JOBS, List.of(), List.of(), 4);
        new QueueMaintenance(List.of(jobs), metrics, nudges::incrementAndGet, true).tick();

        assertThat(jobs.reaps).isEqualTo(1);
        assertThat(registry.get("selectune.queue.depth").gauge().value()).isEqualTo(4);
        assertThat(registry.get("selectune.jobs").tag("outcome", "failed").counter().count()).isZero();
        assertThat(nudges).hasValue(0);
    }

    @Test
    void aFailingQueueLeavesTheOthersUpkeepRunning() {
        FakeQueue broken = new FakeQueue(SelectuneMetrics.Queue.JOBS, List.of(), List.of(), 1) {
            @Override
            public Reaped reapExpired() {
                throw new IllegalStateException("database gone");
            }
        };
        FakeQueue generations = new FakeQueue(SelectuneMetrics.Queue.GENERATIONS, List.of("gen_a"), List.of(), 2);
        new QueueMaintenance(List.of(broken, generations), metrics, nudges::incrementAndGet, true).tick();

        assertThat(generations.reaps).isEqualTo(1);
        assertThat(registry.get("selectune.generations.queue.depth").gauge().value()).isEqualTo(2);
        assertThat(registry.get("selectune.queue.depth").gauge().value()).isZero();
        assertThat(nudges).hasValue(1);
    }

    @Test
    void anApiOnlyReplicaReapsNothingButStillReportsDepths() {
        FakeQueue jobs = new FakeQueue(SelectuneMetrics.Queue.JOBS, List.of("job_a"), List.of("job_b"), 6);
        FakeQueue generations = new FakeQueue(SelectuneMetrics.Queue.GENERATIONS, List.of("gen_a"), List.of(), 7);
        new QueueMaintenance(List.of(jobs, generations), metrics, nudges::incrementAndGet, false).tick();

        assertThat(jobs.reaps + generations.reaps).isZero();
        assertThat(registry.get("selectune.queue.depth").gauge().value()).isEqualTo(6);
        assertThat(registry.get("selectune.generations.queue.depth").gauge().value()).isEqualTo(7);
        assertThat(nudges).hasValue(0);
    }

    private static class FakeQueue implements LeasedQueue {
        private final SelectuneMetrics.Queue meters;
        private final Reaped reaped;
        private final long depth;
        int reaps;

        FakeQueue(SelectuneMetrics.Queue meters, List<String> requeued, List<String> failed, long depth) {
            this.meters = meters;
            this.reaped = new Reaped(requeued, failed);
            this.depth = depth;
        }

        @Override
        public SelectuneMetrics.Queue meters() {
            return meters;
        }

        @Override
        public Reaped reapExpired() {
            reaps++;
            return reaped;
        }

        @Override
        public long queueDepth() {
            return depth;
        }
    }
}
