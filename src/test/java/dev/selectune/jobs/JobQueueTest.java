package dev.selectune.jobs;

import ai.djl.Device;
import dev.selectune.api.ServiceTestBase;
import dev.selectune.config.ModelRegistry;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import dev.selectune.training.MemorySummary;
import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingResult;
import dev.selectune.training.schedule.Strategy;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.BooleanSupplier;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The Postgres queue under contention and failure, against the real database: concurrent claims never take a job
 * twice, an expired lease sends the job back (then fails it once its attempts are spent), and a worker that lost
 * its lease can no longer write to the job, a taken-over job resumes honestly, and a finishing worker publishes
 * its artifacts with the final status. The service's worker is paused; the test plays the workers.
 */
class JobQueueTest extends ServiceTestBase {
    private static final Duration LEASE = Duration.ofSeconds(30);

    @Autowired
    JobQueue queue;
    @Autowired
    JobService service;
    @Autowired
    BlobStore blobs;
    @Autowired
    JobRepository jobs;
    @Autowired
    ImageRecordRepository images;
    @Autowired
    ModelRegistry models;
    @Autowired
    SelectuneMetrics metrics;
    @Autowired
    JsonMapper json;
    @Autowired
    dev.selectune.api.JobViews views;

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
                    if (!claimedOnce.add(id.get().jobId())) {
                        duplicates.add(id.get().jobId());
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
                JobQueue.Lease lease = claimUntil(id, worker);
                assertThat(queue.heartbeat(lease, LEASE).owned()).isTrue();
                expireLease(id);
                String expected = attempt < 3 ? "queued" : "failed";
                awaitTrue(() -> expected.equals(status(id)));
                // The lost worker's writes no longer land.
                assertThat(queue.heartbeat(lease, LEASE).owned()).isFalse();
                assertThat(queue.step(lease, new StepReport(1, 2, Strategy.BP_LOW, 500, 0.1, 0.2, 0.01, 1), null))
                        .isFalse();
                assertThat(queue.fail(lease, "late")).isFalse();
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
            JobQueue.Lease lease = claimUntil(id, "leaving");
            assertThat(queue.release(lease, "leaving")).isTrue();
            assertThat(status(id)).isEqualTo("queued");
            assertThat(jdbc.queryForObject("select attempts from jobs where id = ?", Integer.class, id)).isZero();
        } finally {
            retire(Set.of(id));
        }
    }

    /**
     * Issue 9 item 4: worker A claims the job, writes a step and a checkpoint, then stalls past its lease; the job is
     * reaped and claimed by worker B, which writes its own step and checkpoint. When A wakes up, every write it tries
     * (heartbeat, progress with its metrics row and progress event, a checkpoint, succeeding with an artifact and its
     * event, failing, releasing) is refused, and B's job is exactly as B left it.
     */
    @Test
    void aWorkerThatLostItsLeaseWritesNothing() {
        String id = newJob(imageSet());
        try {
            JobQueue.Lease a = claimUntil(id, "worker-a");
            assertThat(queue.step(a, report(1, 0.5), "step 1/2")).isTrue();
            AtomicBoolean aRefused = new AtomicBoolean();
            BlobCheckpointStore aCheckpoints = new BlobCheckpointStore(blobs, queue, a, () -> aRefused.set(true));
            aCheckpoints.save(1, bytes("checkpoint of A after step 1"));
            assertThat(aRefused).isFalse();

            // A stalls (SIGSTOP) past its lease: the job is requeued and B takes it, resuming from A's checkpoint.
            expireLease(id);
            awaitTrue(() -> "queued".equals(status(id)));
            JobQueue.Lease b = claimUntil(id, "worker-b");
            BlobCheckpointStore bCheckpoints = new BlobCheckpointStore(blobs, queue, b, () -> {
                throw new AssertionError("B's checkpoint refused");
            });
            assertThat(bCheckpoints.load()).hasValueSatisfying(c -> assertThat(c)
                    .isEqualTo(bytes("checkpoint of A after step 1")));
            assertThat(queue.step(b, report(2, 0.25), "step 2/2")).isTrue();
            bCheckpoints.save(2, bytes("checkpoint of B after step 2"));
            Map<String, Object> before = jobRow(id);
            List<Map<String, Object>> metricsBefore = metricRows(id);
            List<Map<String, Object>> eventsBefore = eventRows(id);
            List<String> blobsBefore = checkpointBlobs(id);

            // A wakes up and goes on as if it still owned the job.
            assertThat(queue.heartbeat(a, LEASE).owned()).isFalse();
            assertThat(queue.step(a, report(2, 9.0), "step 2/2 by A")).isFalse();
            aCheckpoints.save(2, bytes("cancel checkpoint of A"));
            assertThat(aRefused).as("A's checkpoint refused").isTrue();
            byte[] lora = bytes("A's lora");
            String loraKey = JobRunner.artifactPrefix(a) + "lora.safetensors";
            blobs.put(loraKey, lora);
            assertThat(queue.finish(a, result(2), JobStatus.SUCCEEDED, List.of(new Artifact(id, "lora.safetensors",
                    loraKey, "application/octet-stream", lora.length, Hashes.sha256Hex(lora))), "finished by A"))
                    .isFalse();
            assertThat(queue.fail(a, "failed by A")).isFalse();
            assertThat(queue.release(a, "released by A")).isFalse();
            assertThat(queue.event(a, EventType.EVALUATING, "evaluating by A")).isFalse();
            assertThat(queue.event(a, EventType.EVALUATION_SKIPPED, "evaluation skipped by A")).isFalse();

            assertThat(jobRow(id)).isEqualTo(before);
            assertThat(before).containsEntry("status", "running").containsEntry("worker_id", "worker-b")
                    .containsEntry("step", 2).containsEntry("checkpoint_step", 2);
            assertThat(metricRows(id)).isEqualTo(metricsBefore);
            assertThat(metricsBefore).extracting(m -> m.get("loss")).containsExactly(0.5, 0.25);
            assertThat(eventRows(id)).isEqualTo(eventsBefore);
            assertThat(checkpointBlobs(id)).isEqualTo(blobsBefore).hasSize(1);
            assertThat(bCheckpoints.load()).hasValueSatisfying(c -> assertThat(c)
                    .isEqualTo(bytes("checkpoint of B after step 2")));
            assertThat(jdbc.queryForObject("select count(*) from artifacts where job_id = ?", Integer.class, id))
                    .isZero();
        } finally {
            retire(Set.of(id));
        }
    }

    /**
     * The same worker id can claim a job again after its lease was reaped (a replica whose clock or heartbeat
     * thread stalled); the generation tells the two claims apart, so the first claim's writes are still refused.
     */
    @Test
    void aReclaimBySameWorkerIdDoesNotReviveTheOldLease() {
        String id = newJob(imageSet());
        try {
            JobQueue.Lease first = claimUntil(id, "worker-w");
            expireLease(id);
            awaitTrue(() -> "queued".equals(status(id)));
            JobQueue.Lease second = claimUntil(id, "worker-w");
            assertThat(second.generation()).isEqualTo(first.generation() + 1);

            assertThat(queue.heartbeat(first, LEASE).owned()).isFalse();
            assertThat(queue.step(first, report(1, 9.0), null)).isFalse();
            AtomicBoolean refused = new AtomicBoolean();
            new BlobCheckpointStore(blobs, queue, first, () -> refused.set(true)).save(1, bytes("stale"));
            assertThat(refused).isTrue();
            assertThat(queue.fail(first, "late")).isFalse();
            assertThat(status(id)).isEqualTo("running");
            assertThat(metricRows(id)).isEmpty();
            assertThat(queue.checkpointKey(id)).isEmpty();
            assertThat(checkpointBlobs(id)).isEmpty();

            assertThat(queue.event(first, EventType.EVALUATING, "late")).isFalse();
            assertThat(queue.step(second, report(1, 0.5), null)).isTrue();
            assertThat(queue.event(second, EventType.EVALUATING, "evaluating")).isTrue();
            assertThat(eventRows(id)).extracting(e -> e.get("type")).containsOnlyOnce("evaluating");
            assertThat(queue.heartbeat(second, LEASE).owned()).isTrue();
        } finally {
            retire(Set.of(id));
        }
    }

    /**
     * Issue 9 item 16: a job taken over after its worker died goes on from its checkpoint, so progress is set back
     * to the checkpoint step (and says so), the metrics of the steps to be repeated are dropped at the claim, a
     * {@code resumed} event names them, and the finished job has exactly one metrics row per step.
     */
    @Test
    void aResumedJobRewindsProgressToItsCheckpointAndRepeatsTheStepsAfterIt() {
        String id = newJob(imageSet(), 5);
        try {
            JobQueue.Lease a = claimUntil(id, "worker-a");
            for (int step = 1; step <= 4; step++) {
                assertThat(queue.step(a, report(step, 1.0 / step), null)).isTrue();
                if (step == 2) {
                    new BlobCheckpointStore(blobs, queue, a, () -> { }).save(2, bytes("after step 2"));
                }
            }
            expireLease(id);
            awaitTrue(() -> "queued".equals(status(id)));
            JobQueue.Lease b = claimUntil(id, "worker-b");

            Job job = jobs.findById(id).orElseThrow();
            assertThat(job.getStep()).isEqualTo(2);
            assertThat(job.getResumedFromStep()).isEqualTo(2);
            assertThat(job.getBpSteps()).isEqualTo(2);
            assertThat(views.view(job).progress().resumedFromStep()).isEqualTo(2);
            assertThat(metricRows(id)).extracting(m -> m.get("step")).containsExactly(1, 2);
            assertThat(jdbc.queryForList("select message from job_events where job_id = ? and type = 'resumed'",
                    String.class, id))
                    .containsExactly("resumed from checkpoint at step 2 (attempt 2); steps 3-4 will be repeated");

            for (int step = 3; step <= 5; step++) {
                assertThat(queue.step(b, report(step, 0.5 / step), null)).isTrue();
            }
            assertThat(queue.finish(b, result(5), JobStatus.SUCCEEDED, List.of(), "done")).isTrue();
            assertThat(metricRows(id)).extracting(m -> m.get("step")).containsExactly(1, 2, 3, 4, 5);
            assertThat(metricRows(id)).extracting(m -> m.get("loss")).containsExactly(1.0, 0.5, 0.5 / 3, 0.5 / 4, 0.1);
        } finally {
            retire(Set.of(id));
        }
    }

    /**
     * Issue 9 item 16, with real training (tiny SD 1.5, 2 steps): while the worker stores its artifact blobs (watched
     * by a blob store that looks at the job at every artifact it is given) the job shows no artifact at all, and the
     * whole list appears together with the final status.
     */
    @Test
    void aFinishingWorkerPublishesItsArtifactsOnlyWithTheFinalStatus(@TempDir Path scratch) {
        String id = newJob(imageSet());
        List<String> seenWhileStoring = Collections.synchronizedList(new ArrayList<>());
        BlobStore watching = new BlobStore() {
            @Override
            public void put(String key, byte[] data) {
                if (key.contains("/artifacts/")) {
                    seenWhileStoring.add(status(id) + " with " + jdbc.queryForObject(
                            "select count(*) from artifacts where job_id = ?", Integer.class, id) + " artifacts");
                }
                blobs.put(key, data);
            }

            @Override
            public Optional<byte[]> get(String key) {
                return blobs.get(key);
            }

            @Override
            public void delete(String key) {
                blobs.delete(key);
            }

            @Override
            public void deletePrefix(String prefix) {
                blobs.deletePrefix(prefix);
            }
        };
        ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor();
        try {
            JobRunner runner = new JobRunnerFactory(jobs, images, queue, watching, models, metrics, json, null, LEASE,
                    Duration.ofSeconds(5), scratch, timers).create("runner-test", Device.cpu());
            runner.run(new JobRunner.Running(claimUntil(id, "runner-test")));
        } finally {
            timers.shutdownNow();
            retire(Set.of(id));
        }
        assertThat(status(id)).isEqualTo("succeeded");
        assertThat(seenWhileStoring).hasSize(3).containsOnly("running with 0 artifacts");
        assertThat(jdbc.queryForList("select name from artifacts where job_id = ? order by name", String.class, id))
                .containsExactly("lora-kohya.safetensors", "lora.safetensors", "metrics.json");
        assertThat(jdbc.queryForList("select key from blobs where key like ?", String.class,
                BlobCheckpointStore.prefix(id) + "%")).isEmpty();
    }

    /** Without a checkpoint a taken-over job starts again from step 0, and says so. */
    @Test
    void aJobLostBeforeItsFirstCheckpointRestartsFromStepZero() {
        String id = newJob(imageSet(), 5);
        try {
            JobQueue.Lease a = claimUntil(id, "worker-a");
            assertThat(queue.step(a, report(1, 0.5), null)).isTrue();
            expireLease(id);
            awaitTrue(() -> "queued".equals(status(id)));
            claimUntil(id, "worker-b");
            Job job = jobs.findById(id).orElseThrow();
            assertThat(job.getStep()).isZero();
            assertThat(job.getResumedFromStep()).isZero();
            assertThat(metricRows(id)).isEmpty();
            assertThat(jdbc.queryForList("select message from job_events where job_id = ? and type = 'resumed'",
                    String.class, id))
                    .containsExactly("restarted from step 0 as there is no checkpoint (attempt 2);"
                            + " step 1 will be repeated");
        } finally {
            retire(Set.of(id));
        }
    }

    private static StepReport report(int step, double loss) {
        return new StepReport(step, 2, Strategy.BP_LOW, 500, 0.1, loss, 0.01, 1);
    }

    private static TrainingResult result(int steps) {
        return new TrainingResult(Path.of("lora.safetensors"), Path.of("lora-kohya.safetensors"),
                Path.of("metrics.json"), List.of(), new MemorySummary(1, 1, 1, "cpu", "test"), steps, steps, 0, 0.1,
                1L, false);
    }

    private static byte[] bytes(String s) {
        return s.getBytes(StandardCharsets.UTF_8);
    }

    private Map<String, Object> jobRow(String id) {
        return jdbc.queryForMap("""
                select status, worker_id, lease_generation, step, checkpoint_step, checkpoint_key, bp_steps, zo_steps,
                       final_loss, error, finished_at, attempts
                from jobs where id = ?""", id);
    }

    private List<Map<String, Object>> metricRows(String id) {
        return jdbc.queryForList("select step, strategy, loss from job_metrics where job_id = ? order by step", id);
    }

    private List<Map<String, Object>> eventRows(String id) {
        return jdbc.queryForList("select id, type, message from job_events where job_id = ? order by id", id);
    }

    private List<String> checkpointBlobs(String id) {
        return jdbc.queryForList("select key from blobs where key like ? order by key", String.class,
                BlobCheckpointStore.prefix(id) + "%");
    }

    /** Claims until {@code id} is the one claimed (older queued jobs of other tests are retired on the way). */
    private JobQueue.Lease claimUntil(String id, String worker) {
        Set<String> others = new HashSet<>();
        for (int i = 0; i < 100; i++) {
            var claimed = queue.claim(worker, "cpu", LEASE);
            if (claimed.isEmpty()) {
                // SKIP LOCKED passes over a row another transaction still has locked (the reaper's, a moment
                // after it requeued the job): try again shortly.
                sleep(100);
                continue;
            }
            if (claimed.get().jobId().equals(id)) {
                retire(others);
                return claimed.get();
            }
            others.add(claimed.get().jobId());
        }
        throw new AssertionError(worker + " could not claim " + id);
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

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            throw new AssertionError(e);
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
        return service.createImageSet("queue-test", List.of(new NewImage("00.jpg", jpeg, info, Hashes.sha256Hex(jpeg))))
                .getId();
    }

    private String newJob(String imageSet) {
        return newJob(imageSet, 2);
    }

    private String newJob(String imageSet, int steps) {
        JobSpec spec = JobSpec.of("tiny-sd15", imageSet,
                TrainingConfig.builder("a photo of sks dog").steps(steps).seed(1L).build());
        return service.createJob("queue-test", spec, null, List.of()).job().getId();
    }
}
