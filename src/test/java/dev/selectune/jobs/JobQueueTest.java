package dev.selectune.jobs;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.training.StepReport;
import dev.selectune.training.Strategy;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Postgres queue under contention and failure, against the real database: concurrent claims never take a job
 * twice, an expired lease sends the job back (then fails it once its attempts are spent), and a worker that lost
 * its lease can no longer write to the job. The service's worker is paused; the test plays the workers.
 */
class JobQueueTest extends ServiceTestBase {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Autowired
    JobQueue queue;
    @Autowired
    JobService service;

    @Test
    void concurrentClaimsNeverTakeTheSameJob() throws Exception {
        List<String> created = new ArrayList<>();
        String set = imageSet();
        for (int i = 0; i < 16; i++) {
            created.add(newJob(set));
        }
        int threads = 8;
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        Set<String> claimedOnce = ConcurrentHashMap.newKeySet();
        List<String> duplicates = Collections.synchronizedList(new ArrayList<>());
        CountDownLatch start = new CountDownLatch(1);
        for (int t = 0; t < threads; t++) {
            String worker = "claimer-" + t;
            pool.submit(() -> {
                start.await();
                while (true) {
                    var id = queue.claim(worker, "cpu", LEASE);
                    if (id.isEmpty()) {
                        return null;
                    }
                    if (!claimedOnce.add(id.get())) {
                        duplicates.add(id.get());
                    }
                }
            });
        }
        start.countDown();
        pool.shutdown();
        assertThat(pool.awaitTermination(60, TimeUnit.SECONDS)).isTrue();
        try {
            assertThat(duplicates).isEmpty();
            assertThat(claimedOnce).containsAll(created);
            for (String id : created) {
                assertThat(jdbc.queryForObject("select attempts from jobs where id = ?", Integer.class, id))
                        .isEqualTo(1);
            }
        } finally {
            retire(claimedOnce);
        }
    }

    @Test
    void anExpiredLeaseRequeuesTheJobUntilItsAttemptsAreSpent() {
        String id = newJob(imageSet());
        try {
            for (int attempt = 1; attempt <= 3; attempt++) {
                String worker = "ghost-" + attempt;
                assertThat(claimUntil(id, worker)).isTrue();
                assertThat(queue.heartbeat(id, worker, LEASE).owned()).isTrue();
                expireLease(id);
                String expected = attempt < 3 ? "queued" : "failed";
                awaitTrue(() -> expected.equals(status(id)));
                // The lost worker's writes no longer land.
                assertThat(queue.heartbeat(id, worker, LEASE).owned()).isFalse();
                assertThat(queue.step(id, worker, new StepReport(1, 2, Strategy.BP_LOW, 500, 0.1, 0.2, 0.01, 1)))
                        .isFalse();
                assertThat(queue.fail(id, worker, "late")).isFalse();
            }
            assertThat(jdbc.queryForObject("select error from jobs where id = ?", String.class, id))
                    .contains("ghost-3").contains("3 attempts");
            List<String> types = jdbc.queryForList("select type from job_events where job_id = ? order by id",
                    String.class, id);
            assertThat(types).containsSubsequence("queued", "claimed", "requeued", "claimed", "requeued", "claimed",
                    "failed");
        } finally {
            retire(Set.of(id));
        }
    }

    @Test
    void aGracefulReleaseDoesNotSpendAnAttempt() {
        String id = newJob(imageSet());
        try {
            assertThat(claimUntil(id, "leaving")).isTrue();
            assertThat(queue.release(id, "leaving")).isTrue();
            assertThat(status(id)).isEqualTo("queued");
            assertThat(jdbc.queryForObject("select attempts from jobs where id = ?", Integer.class, id)).isZero();
        } finally {
            retire(Set.of(id));
        }
    }

    /** Claims until {@code id} is the one claimed (older queued jobs of other tests are retired on the way). */
    private boolean claimUntil(String id, String worker) {
        Set<String> others = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            var claimed = queue.claim(worker, "cpu", LEASE);
            if (claimed.isEmpty()) {
                return false;
            }
            if (claimed.get().equals(id)) {
                retire(others);
                return true;
            }
            others.add(claimed.get());
        }
        return false;
    }

    private void expireLease(String id) {
        jdbc.update("update jobs set lease_expires_at = now() - interval '1 second' where id = ?", id);
    }

    private String status(String id) {
        return jdbc.queryForObject("select status from jobs where id = ?", String.class, id);
    }

    private void retire(Set<String> ids) {
        for (String id : ids) {
            jdbc.update("update jobs set status = 'cancelled', worker_id = null, finished_at = now() where id = ?"
                    + " and status in ('queued', 'running')", id);
        }
    }

    private static void awaitTrue(BooleanSupplier condition) {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() > deadline) {
                throw new AssertionError("condition not met within 20 s");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                throw new AssertionError(e);
            }
        }
    }

    private String imageSet() {
        byte[] jpeg = dev.selectune.api.TestImages.dog(0);
        var info = dev.selectune.training.data.ImageProbe.probe(jpeg, 8192);
        return service.createImageSet("queue-test", List.of(new NewImage("00.jpg", jpeg, info, JobRunner.sha256(jpeg))))
                .getId();
    }

    private String newJob(String imageSet) {
        JobSpec spec = new JobSpec("tiny-sd15", imageSet, "a photo of sks dog", null, null, null, 2, 1L, null, null,
                null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null, null,
                null, null, null, null, null, null, null);
        return service.createJob("queue-test", spec, null, List.of()).job().getId();
    }
}
