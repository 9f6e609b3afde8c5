package dev.selectune.jobs;

import ai.djl.Device;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.storage.BlobStore;
import jakarta.annotation.PreDestroy;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;

/**
 * Makes the {@link JobRunner} of each worker (one per device) and holds what they share: the repositories, the
 * queue, the blob store, the models, the lease settings, the scratch folder and the heartbeat timer thread.
 */
@Component
public class JobRunnerFactory {
    final JobRepository jobs;
    final ImageRecordRepository images;
    final JobQueue queue;
    final BlobStore blobs;
    final ModelRegistry models;
    final SelectuneMetrics metrics;
    final JsonMapper json;
    final EvaluatorRegistry evaluators;
    final Duration lease;
    final Duration heartbeat;
    final Path scratch;
    final ScheduledExecutorService timers;

    @Autowired
    public JobRunnerFactory(JobRepository jobs, ImageRecordRepository images, JobQueue queue, BlobStore blobs,
                            ModelRegistry models, SelectuneMetrics metrics, JsonMapper json,
                            EvaluatorRegistry evaluators, SelectuneProperties props) {
        this(jobs, images, queue, blobs, models, metrics, json, evaluators, props.workers().lease(),
                props.workers().heartbeat(), props.workers().scratch() != null ? props.workers().scratch()
                        : props.dataDir().resolve("work"), Executors.newScheduledThreadPool(1, r -> {
                    Thread t = new Thread(r, "selectune-heartbeat");
                    t.setDaemon(true);
                    return t;
                }));
        // Runners delete their folder when a job ends; a killed run could not, and no job runs here yet.
        LocalFolders.deleteLeftovers(scratch, name -> name.startsWith("job_"));
    }

    JobRunnerFactory(JobRepository jobs, ImageRecordRepository images, JobQueue queue, BlobStore blobs,
                     ModelRegistry models, SelectuneMetrics metrics, JsonMapper json, EvaluatorRegistry evaluators,
                     Duration lease, Duration heartbeat, Path scratch, ScheduledExecutorService timers) {
        this.jobs = jobs;
        this.images = images;
        this.queue = queue;
        this.blobs = blobs;
        this.models = models;
        this.metrics = metrics;
        this.json = json;
        this.evaluators = evaluators;
        this.lease = lease;
        this.heartbeat = heartbeat;
        this.scratch = scratch;
        this.timers = timers;
    }

    /** The runner of worker {@code workerId} (replica id and device label) on {@code device}. */
    public JobRunner create(String workerId, Device device) {
        return new JobRunner(workerId, device, this);
    }

    @PreDestroy
    void close() {
        timers.shutdownNow();
    }
}
