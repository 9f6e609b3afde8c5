package dev.selectune.jobs;

import ai.djl.Device;
import dev.selectune.config.ModelRegistry;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import dev.selectune.training.CancellationToken;
import dev.selectune.training.SelectiveTrainer;
import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingResult;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

/**
 * Runs one claimed job on one device: loads its images and resolved spec, trains with the {@link SelectiveTrainer}
 * (resuming from the job's checkpoint if a lost worker left one), streams every step to the metrics table and the
 * meters, renews the lease, and publishes the artifacts with the final status. Every write is fenced by the claim's
 * {@link JobQueue.Lease} (worker id and lease generation); a runner whose write is refused has lost the job, stops
 * at the next step and writes nothing more.
 */
public class JobRunner {
    private static final Logger log = LoggerFactory.getLogger(JobRunner.class);

    /** What the worker thread, its heartbeat and the API share about the job running right now. */
    static final class Running implements CancellationToken {
        final JobQueue.Lease lease;
        final String jobId;
        private final AtomicReference<StopReason> stop = new AtomicReference<>();
        private final Runnable betweenSteps;

        Running(JobQueue.Lease lease) {
            this(lease, () -> { });
        }

        /** @param betweenSteps what the worker does after each recorded step (see {@link InterleavedWork}) */
        Running(JobQueue.Lease lease, Runnable betweenSteps) {
            this.lease = lease;
            this.jobId = lease.jobId();
            this.betweenSteps = betweenSteps;
        }

        /** Asks the job to stop at its next step; a reason of higher precedence already given stays. */
        void stop(StopReason reason) {
            stop.accumulateAndGet(reason, (now, given) -> given.and(now));
        }

        /** Why the job should stop, or null while it should go on. */
        StopReason stopReason() {
            return stop.get();
        }

        boolean stoppedFor(StopReason reason) {
            return stop.get() == reason;
        }

        @Override
        public boolean isCancelled() {
            return stop.get() != null;
        }
    }

    /** How a run ended on this worker. */
    enum Outcome {
        SUCCEEDED(JobStatus.SUCCEEDED), CANCELLED(JobStatus.CANCELLED), FAILED(JobStatus.FAILED),
        /** Checkpointed and back in the queue (the worker is stopping). */
        RELEASED(null),
        /** Another claim owns the job; its worker reports the outcome. */
        LEASE_LOST(null);

        private final JobStatus finalStatus;

        Outcome(JobStatus finalStatus) {
            this.finalStatus = finalStatus;
        }

        /** The job's final status when this run set it, else null (the job runs on elsewhere). */
        JobStatus finalStatus() {
            return finalStatus;
        }
    }

    private final String workerId;
    private final Device device;
    private final String deviceLabel;
    private final JobRepository jobs;
    private final ImageRecordRepository images;
    private final JobQueue queue;
    private final BlobStore blobs;
    private final ModelRegistry models;
    private final SelectuneMetrics metrics;
    private final JsonMapper json;
    private final Duration lease;
    private final Duration heartbeat;
    private final Path scratch;
    private final ScheduledExecutorService timers;
    private final Map<String, SelectiveTrainer> trainers = new ConcurrentHashMap<>();
    private final JobEvaluation evaluation;

    /** Made by {@link JobRunnerFactory#create}, which holds what every runner shares. */
    JobRunner(String workerId, Device device, JobRunnerFactory shared) {
        this.workerId = workerId;
        this.device = device;
        this.deviceLabel = Devices.label(device);
        this.jobs = shared.jobs;
        this.images = shared.images;
        this.queue = shared.queue;
        this.blobs = shared.blobs;
        this.models = shared.models;
        this.metrics = shared.metrics;
        this.json = shared.json;
        this.lease = shared.lease;
        this.heartbeat = shared.heartbeat;
        this.scratch = shared.scratch;
        this.timers = shared.timers;
        this.evaluation = new JobEvaluation(workerId, device, shared.queue, shared.evaluators, shared.metrics);
    }

    void run(Running running) {
        String jobId = running.jobId;
        Job job = jobs.findById(jobId).orElseThrow();
        Instant claimed = Instant.now();
        metrics.jobStarted();
        metrics.resetPeaks(deviceLabel);
        Outcome outcome = Outcome.LEASE_LOST;
        ScheduledFuture<?> beat = timers.scheduleWithFixedDelay(() -> renew(running), heartbeat.toMillis(),
                heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        // One folder (a worker id holds a '/', which made it two, and left the outer one behind).
        Path out = scratch.resolve(jobId + "-" + workerId.replace('/', '-'));
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
            metrics.jobEnded(outcome.finalStatus() == null ? null : outcome.finalStatus().wireName(),
                    Duration.between(claimed, Instant.now()));
            deleteTree(out);
        }
    }

    private Outcome train(Job job, Running running, Path out) {
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
        JobQueue.Lease claim = running.lease;
        try {
            Files.createDirectories(out);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create scratch folder " + out, e);
        }
        BlobCheckpointStore checkpoints = new BlobCheckpointStore(blobs, queue, claim,
                () -> running.stop(StopReason.LEASE_LOST));
        int eventEvery = Math.max(1, config.steps() / 10);
        SelectiveTrainer trainer = trainers.computeIfAbsent(model.name(), n -> new SelectiveTrainer(model.folder(), device));
        TrainingResult result = trainer.run(imageBytes, config, out, (StepReport r) -> {
            if (running.stoppedFor(StopReason.LEASE_LOST)) {
                return;
            }
            String progress = r.step() == 1 || r.step() % eventEvery == 0 || r.step() == r.totalSteps()
                    ? String.format("step %d/%d %s t=%d loss=%.5f (%.2f s)", r.step(), r.totalSteps(),
                            r.strategy().wireName(), r.timestep(), r.loss(), r.seconds())
                    : null;
            if (!queue.step(claim, r, progress)) {
                running.stop(StopReason.LEASE_LOST);
                return;
            }
            metrics.step(deviceLabel, r);
            if (!running.isCancelled()) {
                running.betweenSteps.run();
            }
        }, running, checkpoints);
        metrics.finalPeaks(deviceLabel, result.memory());
        if (running.stoppedFor(StopReason.LEASE_LOST)) {
            log.warn("job {}: worker {} lost its lease; the job's new owner finishes it", jobId, workerId);
            return Outcome.LEASE_LOST;
        }
        if (result.cancelled() && running.stoppedFor(StopReason.SHUTDOWN)) {
            boolean released = queue.release(claim, "worker " + workerId + " is shutting down; checkpointed after"
                    + " step " + result.stepsDone() + " and put the job back in the queue");
            return released ? Outcome.RELEASED : Outcome.LEASE_LOST;
        }
        JobEvaluation.Outcome evaluated = evaluate(claim, job, spec, model, result, imageBytes, out, running);
        if (running.stoppedFor(StopReason.LEASE_LOST)) {
            log.warn("job {}: worker {} lost its lease while evaluating; the job's new owner finishes it", jobId,
                    workerId);
            return Outcome.LEASE_LOST;
        }
        // Blobs first, under this claim's own keys (a late writer cannot overwrite what the job's owner published);
        // then the rows and the final status in one fenced transaction, so the list is never seen half-made.
        List<Artifact> artifacts = storeArtifactBlobs(claim, result, evaluated.files());
        boolean evaluationCancelled = evaluated.cancelled() && running.stoppedFor(StopReason.CANCEL_REQUESTED);
        JobStatus status = result.cancelled() || evaluationCancelled ? JobStatus.CANCELLED : JobStatus.SUCCEEDED;
        String message = status == JobStatus.SUCCEEDED
                ? String.format("finished %d steps (%d BP, %d ZO), final loss %.5f, peak %d bytes",
                        result.stepsDone(), result.bpSteps(), result.zoSteps(), result.finalLoss(),
                        result.memory().peakBytes())
                : evaluationCancelled ? "cancelled during the evaluation; the trained LoRA is stored"
                : "cancelled after step " + result.stepsDone() + "; the LoRA so far is stored";
        if (!queue.finish(claim, result, status, artifacts, message)) {
            running.stop(StopReason.LEASE_LOST);
            log.warn("job {}: worker {} lost its lease before publishing; the job's new owner finishes it", jobId,
                    workerId);
            blobs.deletePrefix(artifactPrefix(claim));
            return Outcome.LEASE_LOST;
        }
        blobs.deletePrefix(BlobCheckpointStore.prefix(jobId));
        return status == JobStatus.SUCCEEDED ? Outcome.SUCCEEDED : Outcome.CANCELLED;
    }

    /** Where one claim's artifact blobs go: {@code jobs/<id>/artifacts/g<generation>/<name>}. */
    static String artifactPrefix(JobQueue.Lease lease) {
        return "jobs/" + lease.jobId() + "/artifacts/g" + lease.generation() + "/";
    }

    /**
     * The job's evaluation (see {@link JobEvaluation}) when its spec asks for one and training ran to the end. A
     * worker stopping during the evaluation finishes the job without it: the LoRA is what must not be lost.
     */
    private JobEvaluation.Outcome evaluate(JobQueue.Lease claim, Job job, JobSpec spec, ModelRegistry.Model model,
                                           TrainingResult result, List<byte[]> imageBytes, Path out, Running running) {
        if (spec.evaluation() == null || result.cancelled()) {
            return new JobEvaluation.Outcome(List.of(), false);
        }
        JobEvaluation.Outcome outcome = evaluation.run(claim, job, spec.evaluation(), model.folder(),
                result.loraDiffusers(), imageBytes, out, running::isCancelled,
                () -> running.stop(StopReason.LEASE_LOST));
        if (outcome.cancelled() && running.stoppedFor(StopReason.SHUTDOWN)
                && !queue.event(claim, EventType.EVALUATION_SKIPPED, "the worker is stopping: the job ends without"
                        + " its evaluation")) {
            running.stop(StopReason.LEASE_LOST);
        }
        return outcome;
    }

    private List<Artifact> storeArtifactBlobs(JobQueue.Lease claim, TrainingResult r, List<Path> evaluationFiles) {
        List<Path> files = new ArrayList<>(List.of(r.loraDiffusers(), r.loraKohya(), r.metrics()));
        files.addAll(r.samples());
        files.addAll(evaluationFiles);
        List<Artifact> stored = new ArrayList<>();
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
            String key = artifactPrefix(claim) + name;
            blobs.put(key, bytes);
            stored.add(new Artifact(claim.jobId(), name, key, contentType(name), bytes.length, Hashes.sha256Hex(bytes)));
        }
        return stored;
    }

    private Outcome fail(Running running, String error) {
        if (running.stoppedFor(StopReason.LEASE_LOST)) {
            return Outcome.LEASE_LOST;
        }
        if (queue.fail(running.lease, error)) {
            // Failed for good: its checkpoint and any artifact blobs stored before the failure are of no use.
            blobs.deletePrefix(BlobCheckpointStore.prefix(running.jobId));
            blobs.deletePrefix("jobs/" + running.jobId + "/artifacts/");
            return Outcome.FAILED;
        }
        running.stop(StopReason.LEASE_LOST);
        return Outcome.LEASE_LOST;
    }

    private void renew(Running running) {
        try {
            JobQueue.Heartbeat hb = queue.heartbeat(running.lease, lease);
            if (!hb.owned()) {
                running.stop(StopReason.LEASE_LOST);
            } else if (hb.cancelRequested()) {
                running.stop(StopReason.CANCEL_REQUESTED);
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
