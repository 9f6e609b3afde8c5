package dev.selectune.jobs;

import jakarta.persistence.Column;
import jakarta.persistence.Id;
import jakarta.persistence.MappedSuperclass;
import org.hibernate.annotations.Generated;

import java.time.Instant;

/**
 * The columns every durable queue row has (a {@link Job}, a generation), one definition for both tables: the
 * tenant's request around its payload (base model, metadata, idempotency key), the row's place in the queue
 * ({@code status = 'queued'} rows ordered by {@code seq}), the lease of the worker running it, its progress, peak
 * memory and outcome. Read-only here: every change is a guarded UPDATE in the row's queue, so a worker that lost
 * its lease can never overwrite the row's new owner. ({@code lease_generation}, the fencing token, is only ever
 * read and written by those UPDATEs and is not mapped.)
 */
@MappedSuperclass
public abstract class QueueEntry {
    @Id
    private String id;
    @Generated
    @Column(insertable = false, updatable = false)
    private Long seq;
    private String tenant;
    private String baseModel;
    private String metadata;
    private String idempotencyKey;
    /** SHA-256 of the request that first used {@link #idempotencyKey}, to tell a replay from a reuse. */
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
    private Long peakBytes;
    private String memoryDevice;
    private String error;
    private Instant createdAt;
    private Instant startedAt;
    private Instant finishedAt;

    protected QueueEntry() {
    }

    /** A new row, queued now. */
    protected QueueEntry(String id, String tenant, String baseModel, String metadata, String idempotencyKey,
                         String idempotencyFingerprint, int totalSteps, int maxAttempts) {
        this.id = id;
        this.tenant = tenant;
        this.baseModel = baseModel;
        this.metadata = metadata;
        this.idempotencyKey = idempotencyKey;
        this.idempotencyFingerprint = idempotencyFingerprint;
        this.status = JobStatus.QUEUED.wireName();
        this.totalSteps = totalSteps;
        this.maxAttempts = maxAttempts;
        this.createdAt = Instant.now();
    }

    public String getId() { return id; }
    public Long getSeq() { return seq; }
    public String getTenant() { return tenant; }
    public String getBaseModel() { return baseModel; }
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
    public Long getPeakBytes() { return peakBytes; }
    public String getMemoryDevice() { return memoryDevice; }
    public String getError() { return error; }
    public Instant getCreatedAt() { return createdAt; }
    public Instant getStartedAt() { return startedAt; }
    public Instant getFinishedAt() { return finishedAt; }
}
