package dev.selectune.jobs;

import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.Generated;

import java.time.Instant;

/**
 * A fine-tuning job, which is also its own queue entry: {@code status = 'queued'} rows ordered by {@code seq} are the
 * queue, and a running row carries its worker's lease. The API reads jobs through JPA; the queue's state changes
 * (claim, heartbeat, progress, finish) are single guarded UPDATEs in {@link JobQueue}, so a worker that lost its
 * lease can never overwrite the job's new owner.
 */
@Entity
@Table(name = "jobs")
public class Job {
    @Id
    private String id;
    @Generated
    @Column(insertable = false, updatable = false)
    private Long seq;
    private String tenant;
    private String imageSetId;
    private String baseModel;
    /** The resolved spec (every hyperparameter with its default filled in), as JSON. */
    private String spec;
    private String metadata;
    private String idempotencyKey;
    /** SHA-256 of the request that first used {@link #idempotencyKey} (see {@code JobService#fingerprint}). */
    private String idempotencyFingerprint;
    private String status;
    private boolean cancelRequested;
    private int attempts;
    private int maxAttempts;
    private String workerId;
    private String device;
    private Instant leaseExpiresAt;
    private int step;
    private int totalSteps;
    private Integer checkpointStep;
    /** The step a later claim went on from (see {@code JobQueue#claim}); null while the job never resumed. */
    private Integer resumedFromStep;
    private int bpSteps;
    private int zoSteps;
    private Double finalLoss;
    private Long seed;
    private Long bpPeakBytes;
    private Long zoPeakBytes;
    private Long peakBytes;
    private String memoryDevice;
    private String memoryMeasuredAs;
    private String error;
    /** The evaluation scores as JSON (see {@code JobEvaluation}), written after training; null without evaluation. */
    private String evaluation;
    private Instant createdAt;
    private Instant startedAt;
    private Instant finishedAt;

    protected Job() {
    }

    public Job(String id, String tenant, String imageSetId, String baseModel, String spec, String metadata,
               String idempotencyKey, String idempotencyFingerprint, int totalSteps, int maxAttempts, Long seed) {
        this.id = id;
        this.tenant = tenant;
        this.imageSetId = imageSetId;
        this.baseModel = baseModel;
        this.spec = spec;
        this.metadata = metadata;
        this.idempotencyKey = idempotencyKey;
        this.idempotencyFingerprint = idempotencyFingerprint;
        this.status = JobStatus.QUEUED.wireName();
        this.totalSteps = totalSteps;
        this.maxAttempts = maxAttempts;
        this.seed = seed;
        this.createdAt = Instant.now();
    }

    public String getId() { return id; }
    public Long getSeq() { return seq; }
    public String getTenant() { return tenant; }
    public String getImageSetId() { return imageSetId; }
    public String getBaseModel() { return baseModel; }
    public String getSpec() { return spec; }
    public String getMetadata() { return metadata; }
    public String getIdempotencyKey() { return idempotencyKey; }
    public String getIdempotencyFingerprint() { return idempotencyFingerprint; }
    public JobStatus getStatus() { return JobStatus.fromWireName(status); }
    public boolean isCancelRequested() { return cancelRequested; }
    public int getAttempts() { return attempts; }
    public int getMaxAttempts() { return maxAttempts; }
    public String getWorkerId() { return workerId; }
    public String getDevice() { return device; }
    public Instant getLeaseExpiresAt() { return leaseExpiresAt; }
    public int getStep() { return step; }
    public int getTotalSteps() { return totalSteps; }
    public Integer getCheckpointStep() { return checkpointStep; }
    public Integer getResumedFromStep() { return resumedFromStep; }
    public int getBpSteps() { return bpSteps; }
    public int getZoSteps() { return zoSteps; }
    public Double getFinalLoss() { return finalLoss; }
    public Long getSeed() { return seed; }
    public Long getBpPeakBytes() { return bpPeakBytes; }
    public Long getZoPeakBytes() { return zoPeakBytes; }
    public Long getPeakBytes() { return peakBytes; }
    public String getMemoryDevice() { return memoryDevice; }
    public String getMemoryMeasuredAs() { return memoryMeasuredAs; }
    public String getError() { return error; }
    public String getEvaluation() { return evaluation; }
    public Instant getCreatedAt() { return createdAt; }
    public Instant getStartedAt() { return startedAt; }
    public Instant getFinishedAt() { return finishedAt; }
}
