package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Table;

/**
 * A fine-tuning job, which is also its own queue entry ({@link QueueEntry}: status, lease, progress, outcome). The API
 * reads jobs through JPA; the queue's state changes (claim, heartbeat, progress, finish) are single guarded UPDATEs
 * in {@link JobQueue}, so a worker that lost its lease can never overwrite the job's new owner.
 */
@Entity
@Table(name = "jobs")
public class Job extends QueueEntry {
    private String imageSetId;
    /** The resolved spec (every hyperparameter with its default filled in), as JSON. */
    private String spec;
    private Integer checkpointStep;
    /** The step a later claim went on from (see {@code JobQueue#claim}); null while the job never resumed. */
    private Integer resumedFromStep;
    private int bpSteps;
    private int zoSteps;
    private Double finalLoss;
    private Long seed;
    private Long bpPeakBytes;
    private Long zoPeakBytes;
    private String memoryMeasuredAs;
    /** The evaluation scores as JSON (see {@code JobEvaluation}), written after training; null without evaluation. */
    private String evaluation;

    protected Job() {
    }

    public Job(String id, String tenant, String imageSetId, String baseModel, String spec, String metadata,
               String idempotencyKey, String idempotencyFingerprint, int totalSteps, int maxAttempts, Long seed) {
        super(id, tenant, baseModel, metadata, idempotencyKey, idempotencyFingerprint, totalSteps, maxAttempts);
        this.imageSetId = imageSetId;
        this.spec = spec;
        this.seed = seed;
    }

    public String getImageSetId() { return imageSetId; }
    public String getSpec() { return spec; }
    public Integer getCheckpointStep() { return checkpointStep; }
    public Integer getResumedFromStep() { return resumedFromStep; }
    public int getBpSteps() { return bpSteps; }
    public int getZoSteps() { return zoSteps; }
    public Double getFinalLoss() { return finalLoss; }
    public Long getSeed() { return seed; }
    public Long getBpPeakBytes() { return bpPeakBytes; }
    public Long getZoPeakBytes() { return zoPeakBytes; }
    public String getMemoryMeasuredAs() { return memoryMeasuredAs; }
    public String getEvaluation() { return evaluation; }
}
