package dev.selectune.generations;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.jobs.EventType;
import dev.selectune.jobs.JobStatus;
import io.micrometer.core.instrument.MeterRegistry;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.time.Duration;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A generation whose worker vanished, against the real database: the service's one queue maintenance (the schedule
 * that also reaps jobs) sends it back to the queue, then fails it once its attempts are spent, counting it as a lost
 * generation; the lost worker's fenced writes no longer land. The service's worker is paused; the test plays the
 * workers.
 */
class GenerationLeaseTest extends ServiceTestBase {
    private static final Duration LEASE = Duration.ofSeconds(30);
    private static final Duration TIMEOUT = Duration.ofSeconds(20);

    @Autowired
    GenerationQueue queue;
    @Autowired
    MeterRegistry registry;

    @Test
    void anExpiredLeaseRequeuesTheGenerationUntilItsAttemptsAreSpent() throws InterruptedException {
        String id = "gen_leasetest" + System.nanoTime();
        jdbc.update("""
                insert into generations (id, tenant, base_model, request, status, max_attempts, image_count,
                                         total_steps, seed)
                values (?, 'lease-test', 'tiny-sd15', '{}', 'queued', 2, 1, 4, 7)""", id);
        double lostBefore = lost();
        try {
            for (int attempt = 1; attempt <= 2; attempt++) {
                GenerationQueue.Lease lease = claimUntil(id, "ghost-" + attempt);
                assertThat(queue.heartbeat(lease, LEASE).owned()).isTrue();
                jdbc.update("update generations set lease_expires_at = now() - interval '1 second' where id = ?", id);
                String expected = attempt < 2 ? "queued" : "failed";
                await(() -> expected.equals(status(id)), TIMEOUT);
                assertThat(queue.heartbeat(lease, LEASE).owned()).isFalse();
                assertThat(queue.progress(lease, 1, 1, "cpu").owned()).isFalse();
                assertThat(queue.event(lease, EventType.PROGRESS, "late")).isFalse();
                assertThat(queue.end(lease, JobStatus.FAILED, "late", "late")).isFalse();
            }
            assertThat(jdbc.queryForObject("select error from generations where id = ?", String.class, id))
                    .contains("ghost-2").contains("2 attempts");
            assertThat(jdbc.queryForList("select type from generation_events where generation_id = ? order by id",
                    String.class, id)).containsExactly("claimed", "requeued", "claimed", "failed");
            await(() -> lost() == lostBefore + 1, TIMEOUT);
        } finally {
            jdbc.update("update generations set status = 'cancelled', finished_at = now() where id = ?"
                    + " and status in ('queued', 'running')", id);
        }
    }

    private double lost() {
        return registry.get("selectune.generations").tag("status", "failed").counter().count();
    }

    private String status(String id) {
        return jdbc.queryForObject("select status from generations where id = ?", String.class, id);
    }

    /** Claims until {@code id} is the one claimed (a queued generation left by another test is cancelled). */
    private GenerationQueue.Lease claimUntil(String id, String worker) throws InterruptedException {
        for (int i = 0; i < 100; i++) {
            var claimed = queue.claim(worker, "cpu", LEASE);
            if (claimed.isEmpty()) {
                // SKIP LOCKED passes over the row the reaper may still hold a moment after requeueing it.
                Thread.sleep(100);
                continue;
            }
            if (claimed.get().generationId().equals(id)) {
                return claimed.get();
            }
            jdbc.update("update generations set status = 'cancelled', finished_at = now() where id = ?",
                    claimed.get().generationId());
        }
        throw new AssertionError(worker + " could not claim " + id);
    }

}
