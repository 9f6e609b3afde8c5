package dev.selectune.jobs;

import ai.djl.Device;
import dev.selectune.config.ModelRegistry;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.storage.BlobStore;
import dev.selectune.training.CancellationToken;
import dev.selectune.training.SelectiveTrainer;
import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.jdbc.core.JdbcTemplate;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;

/**
 * Runs one claimed job on one device: loads its images and resolved spec, trains with the {@link SelectiveTrainer}
 * (resuming from the job's checkpoint if a lost worker left one), streams every step to the metrics table and the
 * meters, renews the lease, and stores the artifacts. Every write is guarded by ownership in {@link JobQueue}; a
 * runner that lost its lease stops at the next step and writes nothing more.
 */
public class JobRunner {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    /** What the worker thread and the API share about the job running right now. */
    static final class Running implements CancellationToken {
        final String jobId;
        volatile boolean cancelRequested;
        volatile boolean lost;
        volatile boolean shuttingDown;

        Running(String jobId) {
            this.jobId = jobId;
        }

        @Override
        public boolean isCancelled() {
            return cancelRequested || lost || shuttingDown;
        }
    }

    private final String workerId;
    private final Device device;
    private final String deviceLabel;
    private final JobRepository jobs;
    private final ImageRecordRepository images;
    private final JobQueue queue;
    private final BlobStore blobs;
    private final JdbcTemplate jdbc;
    private final ModelRegistry models;
    private final SelectuneMetrics metrics;
    private final JsonMapper json;
    private final Duration lease;
    private final Duration heartbeat;
    private final Path scratch;
    private final ScheduledExecutorService timers;
    private final Map<String, SelectiveTrainer> trainers = new ConcurrentHashMap<>();
    private final JobEvaluation evaluation;

    JobRunner(String workerId, Device device, JobRepository jobs, ImageRecordRepository images, JobQueue queue,
              BlobStore blobs, JdbcTemplate jdbc, ModelRegistry models, SelectuneMetrics metrics, JsonMapper json,
              Duration lease, Duration heartbeat, Path scratch, ScheduledExecutorService timers,
              JobEvaluation evaluation) {
        this.workerId = workerId;
        this.device = device;
        this.deviceLabel = Devices.label(device);
        this.jobs = jobs;
        this.images = images;
        this.queue = queue;
        this.blobs = blobs;
        this.jdbc = jdbc;
        this.models = models;
        this.metrics = metrics;
        this.json = json;
        this.lease = lease;
        this.heartbeat = heartbeat;
        this.scratch = scratch;
        this.timers = timers;
        this.evaluation = evaluation;
    }

    void run(Running running) {
        String jobId = running.jobId;
        Job job = jobs.findById(jobId).orElseThrow();
        Instant claimed = Instant.now();
        metrics.jobStarted();
        metrics.resetPeaks(deviceLabel);
        String outcome = null;
        ScheduledFuture<?> beat = timers.scheduleWithFixedDelay(() -> renew(running), heartbeat.toMillis(),
                heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        Path out = scratch.resolve(jobId + "-" + workerId);
        try {
            outcome = train(job, running, out);
        } catch (IllegalArgumentException e) {
            log.info("job {} refused by the trainer: {}", jobId, e.getMessage());
            outcome = fail(running, "invalid input: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            log.error("job {} failed on {}", jobId, deviceLabel, e);
            outcome = fail(running, "training failed on " + deviceLabel + ": " + e);
        } finally {
            beat.cancel(false);
            metrics.jobEnded(outcome, Duration.between(claimed, Instant.now()));
            deleteTree(out);
        }
    }

    private String train(Job job, Running running, Path out) {
        String jobId = job.getId();
        ModelRegistry.Model model = models.find(job.getBaseModel()).orElseThrow(() ->
                new IllegalArgumentException("base model '" + job.getBaseModel() + "' is not configured on worker "
                        + workerId));
        JobSpec spec = json.readValue(job.getSpec(), JobSpec.class);
        TrainingConfig config = spec.check().config().validate();
        List<byte[]> imageBytes = new ArrayList<>();
        for (ImageRecord image : images.findByImageSetIdOrderByPosition(job.getImageSetId())) {
            imageBytes.add(blobs.get(image.getBlobKey()).orElseThrow(() ->
                    new IllegalStateException("image " + image.getBlobKey() + " is missing from the blob store")));
        }
        if (job.getCheckpointStep() != null) {
            queue.event(jobId, "info", "resumed", "resuming from the checkpoint taken after step "
                    + job.getCheckpointStep() + " (attempt " + job.getAttempts() + ")");
        }
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create scratch folder " + out, e);
        }
        BlobCheckpointStore checkpoints = new BlobCheckpointStore(blobs, jobId, step -> {
            if (queue.checkpointed(jobId, workerId, step)) {
                queue.event(jobId, "info", "checkpoint", "checkpoint saved after step " + step);
            }
        });
        int eventEvery = Math.max(1, config.steps() / 10);
        SelectiveTrainer trainer = trainers.computeIfAbsent(model.name(), n -> new SelectiveTrainer(model.folder(), device));
        TrainingResult result = trainer.run(imageBytes, config, out, (StepReport r) -> {
            if (running.lost) {
                return;
            }
            if (!queue.step(jobId, workerId, r)) {
                running.lost = true;
                return;
            }
            metrics.step(deviceLabel, r);
            if (r.step() == 1 || r.step() % eventEvery == 0 || r.step() == r.totalSteps()) {
                queue.event(jobId, "info", "progress", String.format("step %d/%d %s t=%d loss=%.5f (%.2f s)",
                        r.step(), r.totalSteps(), r.strategy().wireName(), r.timestep(), r.loss(), r.seconds()));
            }
        }, running, checkpoints);
        metrics.finalPeaks(deviceLabel, result.memory());
        if (running.lost) {
            log.warn("job {}: worker {} lost its lease; the job's new owner finishes it", jobId, workerId);
            return null;
        }
        if (result.cancelled() && running.shuttingDown && !running.cancelRequested) {
            if (queue.release(jobId, workerId)) {
                queue.event(jobId, "info", "released", "worker " + workerId + " is shutting down; checkpointed after"
                        + " step " + result.stepsDone() + " and put the job back in the queue");
            }
            return null;
        }
        JobEvaluation.Outcome evaluated = evaluate(job, spec, model, result, imageBytes, out, running);
        if (running.lost) {
            return null;
        }
        storeArtifacts(jobId, result, evaluated.files());
        boolean evaluationCancelled = evaluated.cancelled() && running.cancelRequested;
        JobStatus status = result.cancelled() || evaluationCancelled ? JobStatus.CANCELLED : JobStatus.SUCCEEDED;
        if (!queue.succeed(jobId, workerId, result, status)) {
            return null;
        }
        queue.event(jobId, "info", status.wireName(), status == JobStatus.SUCCEEDED
                ? String.format("finished %d steps (%d BP, %d ZO), final loss %.5f, peak %d bytes",
                        result.stepsDone(), result.bpSteps(), result.zoSteps(), result.finalLoss(),
                        result.memory().peakBytes())
                : evaluationCancelled ? "cancelled during the evaluation; the trained LoRA is stored"
                : "cancelled after step " + result.stepsDone() + "; the LoRA so far is stored");
        blobs.delete(BlobCheckpointStore.key(jobId));
        return status.wireName();
    }

    /**
     * The job's evaluation (see {@link JobEvaluation}) when its spec asks for one and training ran to the end. A
     * worker stopping during the evaluation finishes the job without it: the LoRA is what must not be lost.
     */
    private JobEvaluation.Outcome evaluate(Job job, JobSpec spec, ModelRegistry.Model model, TrainingResult result,
                                           List<byte[]> imageBytes, Path out, Running running) {
        if (spec.evaluation() == null || result.cancelled()) {
            return new JobEvaluation.Outcome(List.of(), false);
        }
        JobEvaluation.Outcome outcome = evaluation.run(job, spec.evaluation(), model.folder(), result.loraDiffusers(),
                imageBytes, out, running::isCancelled);
        if (outcome.cancelled() && !running.cancelRequested && !running.lost) {
            queue.event(job.getId(), "warning", "evaluation-skipped", "the worker is stopping: the job ends without"
                    + " its evaluation");
        }
        return outcome;
    }

    private void storeArtifacts(String jobId, TrainingResult r, List<Path> evaluationFiles) {
        List<Path> files = new ArrayList<>(List.of(r.loraDiffusers(), r.loraKohya(), r.metrics()));
        files.addAll(r.samples());
        files.addAll(evaluationFiles);
        for (Path file : files) {
            if (file == null || !Files.isRegularFile(file)) {
                continue;
            }
            byte[] bytes;
            try {
                bytes = Files.readAllBytes(file);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read artifact " + file, e);
            }
            String name = file.getFileName().toString();
            String key = "jobs/" + jobId + "/artifacts/" + name;
            blobs.put(key, bytes);
            jdbc.update("""
                    insert into artifacts (job_id, name, blob_key, content_type, size_bytes, sha256)
                    values (?, ?, ?, ?, ?, ?)
                    on conflict (job_id, name) do update set blob_key = excluded.blob_key,
                        content_type = excluded.content_type, size_bytes = excluded.size_bytes,
                        sha256 = excluded.sha256, created_at = now()""",
                    jobId, name, key, contentType(name), bytes.length, sha256(bytes));
        }
    }

    private String fail(Running running, String error) {
        if (running.lost) {
            return null;
        }
        if (queue.fail(running.jobId, workerId, error)) {
            queue.event(running.jobId, "error", "failed", error);
            blobs.delete(BlobCheckpointStore.key(running.jobId));
            return "failed";
        }
        return null;
    }

    private void renew(Running running) {
        try {
            JobQueue.Heartbeat hb = queue.heartbeat(running.jobId, workerId, lease);
            if (!hb.owned()) {
                running.lost = true;
            } else if (hb.cancelRequested()) {
                running.cancelRequested = true;
            }
        } catch (RuntimeException e) {
            // A database hiccup: keep training; if it lasts past the lease, another worker takes over.
            log.warn("job {}: heartbeat failed: {}", running.jobId, e.toString());
        }
    }

    static String contentType(String name) {
        if (name.endsWith(".png")) {
            return "image/png";
        }
        if (name.endsWith(".json")) {
            return "application/json";
        }
        return "application/octet-stream";
    }

    public static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    private static void deleteTree(Path dir) {
        if (!Files.exists(dir)) {
            return;
        }
        try (Stream<Path> walk = Files.walk(dir)) {
            walk.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            log.warn("cannot clean scratch folder {}: {}", dir, e.toString());
        }
    }
}
