package dev.selectune.generations;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.PngImages;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.jobs.Artifact;
import dev.selectune.jobs.ArtifactRepository;
import dev.selectune.jobs.Devices;
import dev.selectune.jobs.EventType;
import dev.selectune.jobs.InterleavedWork;
import dev.selectune.jobs.JobRepository;
import dev.selectune.jobs.JobStatus;
import dev.selectune.metrics.ProcessMemory;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import jakarta.annotation.PreDestroy;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

import javax.imageio.ImageIO;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BooleanSupplier;

/**
 * Runs generations on the training workers ({@link InterleavedWork}): a worker claims one when it is idle, and
 * between two training steps of the job it runs (docs/service.md, "Generations"). Each worker keeps one inference
 * pipeline ({@link WorkerPipeline}: the last base model it used and the LoRAs loaded on it), separate from the
 * trainer's UNet, so a generation never disturbs the job's weights and the next generation on the same base model
 * loads nothing again.
 */
@Component
public class GenerationWorker implements InterleavedWork {
    private static final Logger log = LoggerFactory.getLogger(GenerationWorker.class);

    /**
     * Why a running generation stops before its last image, in increasing precedence (as a job's {@code StopReason}):
     * a generation both cancelled and on a stopping worker is cancelled, and one whose lease is lost writes nothing.
     */
    private enum Stop {
        /** The worker is shutting down: the generation goes back to the queue for another worker. */
        SHUTDOWN,
        CANCEL_REQUESTED,
        LEASE_LOST
    }

    private static final class Stopped extends RuntimeException {
        Stopped() {
            super(null, null, false, false);
        }
    }

    private final GenerationQueue queue;
    private final GenerationService service;
    private final GenerationRepository generations;
    private final JobRepository jobs;
    private final ArtifactRepository artifacts;
    private final BlobStore blobs;
    private final ModelRegistry models;
    private final SelectuneMetrics metrics;
    private final Duration lease;
    private final Duration heartbeat;
    private final Path scratch;
    private final Map<String, WorkerPipeline> pipelines = new ConcurrentHashMap<>();
    private final ScheduledExecutorService timers = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "selectune-generation-heartbeat");
        t.setDaemon(true);
        return t;
    });

    public GenerationWorker(GenerationQueue queue, GenerationService service, GenerationRepository generations,
                            JobRepository jobs, ArtifactRepository artifacts, BlobStore blobs, ModelRegistry models,
                            SelectuneMetrics metrics, SelectuneProperties props) {
        this.queue = queue;
        this.service = service;
        this.generations = generations;
        this.jobs = jobs;
        this.artifacts = artifacts;
        this.blobs = blobs;
        this.models = models;
        this.metrics = metrics;
        this.lease = props.workers().lease();
        this.heartbeat = props.workers().heartbeat();
        this.scratch = (props.workers().scratch() != null ? props.workers().scratch()
                : props.dataDir().resolve("work")).resolve("generations");
    }

    @Override
    public boolean runOne(String workerId, Device device, BooleanSupplier shuttingDown) {
        var claimed = queue.claim(workerId, Devices.label(device), lease);
        if (claimed.isEmpty()) {
            return false;
        }
        run(claimed.get(), device, shuttingDown);
        return true;
    }

    private void run(GenerationQueue.Lease claim, Device device, BooleanSupplier shuttingDown) {
        String id = claim.generationId();
        Generation g = generations.findById(id).orElseThrow();
        ResolvedGeneration r = service.request(g);
        Instant started = Instant.now();
        StopFlag stop = new StopFlag(shuttingDown);
        ScheduledFuture<?> beat = timers.scheduleWithFixedDelay(() -> renew(claim, stop), heartbeat.toMillis(),
                heartbeat.toMillis(), TimeUnit.MILLISECONDS);
        JobStatus outcome = null;
        try {
            outcome = generate(claim, g, r, device, stop);
        } catch (Stopped e) {
            if (stop.get() == Stop.CANCEL_REQUESTED
                    && queue.end(claim, JobStatus.CANCELLED, null, "cancelled; no images are kept")) {
                outcome = JobStatus.CANCELLED;
            } else if (stop.get() == Stop.SHUTDOWN && queue.release(claim, "worker " + claim.workerId()
                    + " is shutting down; the generation goes back to the queue, and the next worker makes its"
                    + " images again")) {
                log.info("generation {} released: worker {} is shutting down", id, claim.workerId());
            }
        } catch (IllegalArgumentException e) {
            outcome = fail(claim, "invalid input: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            log.error("generation {} failed on {}", id, Devices.label(device), e);
            outcome = fail(claim, "generation failed on " + Devices.label(device) + ": " + e);
        } finally {
            beat.cancel(false);
            if (outcome != JobStatus.SUCCEEDED) {
                blobs.deletePrefix(imagePrefix(claim));
            }
            if (outcome != null) {
                metrics.generationEnded(outcome.wireName(), Duration.between(started, Instant.now()),
                        outcome == JobStatus.SUCCEEDED ? r.n() : 0);
            }
        }
    }

    private JobStatus generate(GenerationQueue.Lease claim, Generation g, ResolvedGeneration r, Device device,
                               StopFlag stop) {
        ModelRegistry.Model model = models.find(r.baseModel()).orElseThrow(() -> new IllegalArgumentException(
                "base model '" + r.baseModel() + "' is not configured on worker " + claim.workerId()));
        WorkerPipeline worker = pipelines.computeIfAbsent(claim.workerId(), w -> new WorkerPipeline(device));
        StableDiffusionPipeline pipeline = worker.pipeline(model, message -> event(claim, stop, message));
        Map<String, Float> weights = new LinkedHashMap<>();
        for (ResolvedGeneration.ResolvedLora lora : r.loras()) {
            String name = lora.sha256();
            if (!worker.hasLora(name)) {
                Path file = download(g.getTenant(), lora);
                try {
                    worker.loadLora(name, file);
                } finally {
                    deleteQuietly(file);
                }
                event(claim, stop, "loaded LoRA " + lora.url());
            } else {
                event(claim, stop, "LoRA " + lora.url() + " already loaded");
            }
            weights.merge(name, (float) lora.scale(), Float::sum);
        }
        String label = Devices.label(device);
        long[] peak = {(long) ProcessMemory.residentBytes()};
        List<GenerationImage> made = new ArrayList<>();
        worker.activate(weights);
        try {
            for (int i = 0; i < r.n(); i++) {
                int index = i;
                GenerationRequest request = new GenerationRequest(r.prompt(), r.negativePrompt(), r.width(),
                        r.height(), r.steps(), (float) r.guidanceScale(), r.seed(i), null, 1f);
                byte[] png;
                try (NDManager m = NDManager.newBaseManager(device)) {
                    var image = pipeline.generate(request, pipeline.sampler(r.scheduler()), null, (done, total) -> {
                        peak[0] = Math.max(peak[0], (long) ProcessMemory.residentBytes());
                        int step = index * r.steps() + (int) Math.round((double) done / total * r.steps());
                        GenerationQueue.Held held = queue.progress(claim, step, peak[0], label);
                        check(held, stop);
                    }, m).image();
                    png = png(image);
                }
                String key = imagePrefix(claim) + GenerationImage.fileName(i);
                blobs.put(key, png);
                made.add(new GenerationImage(g.getId(), i, r.seed(i), r.width(), r.height(), key, png.length,
                        Hashes.sha256Hex(png)));
                event(claim, stop, "image " + (i + 1) + "/" + r.n() + " done (seed " + r.seed(i) + ")");
            }
        } finally {
            worker.deactivate();
        }
        if (!queue.succeed(claim, made, String.format("made %d image(s) %dx%d, peak %d bytes", r.n(), r.width(),
                r.height(), peak[0]))) {
            log.warn("generation {}: worker {} lost its lease before publishing", g.getId(), claim.workerId());
            return null;
        }
        return JobStatus.SUCCEEDED;
    }

    /** An event of the running generation; stops it when the lease is lost (other reasons wait for the next step). */
    private void event(GenerationQueue.Lease claim, StopFlag stop, String message) {
        if (!queue.event(claim, EventType.PROGRESS, message)) {
            stop.raise(Stop.LEASE_LOST);
            throw new Stopped();
        }
    }

    private static void check(GenerationQueue.Held held, StopFlag stop) {
        stop.raise(held);
        stop.throwIfRaised();
    }

    private void renew(GenerationQueue.Lease claim, StopFlag stop) {
        try {
            stop.raise(queue.heartbeat(claim, lease));
        } catch (RuntimeException e) {
            log.warn("generation {}: heartbeat failed: {}", claim.generationId(), e.toString());
        }
    }

    /**
     * The LoRA file of a resolved reference, written to a scratch file for the loader. The job is looked up under the
     * generation's tenant again: a LoRA is never loaded for another tenant, whatever the stored request says.
     */
    private Path download(String tenant, ResolvedGeneration.ResolvedLora lora) {
        jobs.findByIdAndTenant(lora.jobId(), tenant).orElseThrow(() -> new IllegalArgumentException(
                "the LoRA's job " + lora.jobId() + " no longer exists"));
        Artifact artifact = artifacts.findByJobIdAndName(lora.jobId(), lora.artifact()).orElseThrow(() ->
                new IllegalArgumentException("job " + lora.jobId() + " no longer has artifact " + lora.artifact()));
        byte[] bytes = blobs.get(artifact.getBlobKey()).orElseThrow(() -> new IllegalStateException(
                "blob " + artifact.getBlobKey() + " is missing"));
        try {
            Files.createDirectories(scratch);
            Path file = Files.createTempFile(scratch, "lora-", ".safetensors");
            Files.write(file, bytes);
            return file;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the LoRA to " + scratch, e);
        }
    }

    private static void deleteQuietly(Path file) {
        try {
            Files.deleteIfExists(file);
        } catch (IOException e) {
            log.warn("cannot delete {}: {}", file, e.toString());
        }
    }

    /** Why a running generation should stop (the reason of highest precedence so far), or null while it goes on. */
    private static final class StopFlag {
        private final AtomicReference<Stop> reason = new AtomicReference<>();
        private final BooleanSupplier shuttingDown;

        StopFlag(BooleanSupplier shuttingDown) {
            this.shuttingDown = shuttingDown;
        }

        void raise(Stop given) {
            reason.accumulateAndGet(given, (now, g) -> now == null || g.ordinal() > now.ordinal() ? g : now);
        }

        /** What a fenced write learned: the lease lost, or a cancellation asked. */
        void raise(GenerationQueue.Held held) {
            if (!held.owned()) {
                raise(Stop.LEASE_LOST);
            } else if (held.cancelRequested()) {
                raise(Stop.CANCEL_REQUESTED);
            }
        }

        Stop get() {
            return reason.get();
        }

        /** At a denoising step: stops the generation if it should stop, a stopping worker included. */
        void throwIfRaised() {
            if (shuttingDown.getAsBoolean()) {
                raise(Stop.SHUTDOWN);
            }
            if (reason.get() != null) {
                throw new Stopped();
            }
        }
    }

    private JobStatus fail(GenerationQueue.Lease claim, String error) {
        return queue.end(claim, JobStatus.FAILED, error, error) ? JobStatus.FAILED : null;
    }

    /** One claim's image blobs: {@code generations/<id>/g<lease generation>/image-<i>.png}. */
    static String imagePrefix(GenerationQueue.Lease claim) {
        return GenerationService.blobPrefix(claim.generationId()) + "g" + claim.generation() + "/";
    }

    private static byte[] png(ai.djl.ndarray.NDArray image) {
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        try {
            if (!ImageIO.write(PngImages.toImage(image), "png", out)) {
                throw new IOException("no PNG writer available in javax.imageio");
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    @PreDestroy
    void close() {
        timers.shutdownNow();
        pipelines.values().forEach(WorkerPipeline::close);
        pipelines.clear();
    }
}
