package dev.selectune.generations;

import dev.selectune.jobs.JobStatus;
import jakarta.persistence.Column;
import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;
import org.hibernate.annotations.Generated;

import java.time.Instant;

/**
 * A text-to-image request and its own queue entry, like a {@code Job}: {@code status = 'queued'} rows ordered by
 * {@code seq} are the queue, a running row carries its worker's lease. The API reads generations through JPA; every
 * change of state is a guarded UPDATE in {@link GenerationQueue}, which is also the one place a status changes.
 */
@Entity
@Table(name = "generations")
public class Generation {
    @Id
    private String id;
    @Generated
    @Column(insertable = false, updatable = false)
    private Long seq;
    private String tenant;
    private String baseModel;
    /** The resolved {@link GenerationSpec} (defaults filled in, LoRAs resolved), as JSON. */
    private String request;
    private String metadata;
    private String idempotencyKey;
    private String idempotencyFingerprint;
    private String status;
    private boolean cancelRequested;
    private int attempts;
    private int maxAttempts;
    private String workerId;
    private String device;
    private Instant leaseExpiresAt;
    private int imageCount;
    private int step;
    private int totalSteps;
    private long seed;
    private Long peakBytes;
    private String memoryDevice;
    private String error;
    private Instant createdAt;
    private Instant startedAt;
    private Instant finishedAt;

    protected Generation() {
    }

    public Generation(String id, String tenant, String baseModel, String request, String metadata,
                      String idempotencyKey, String idempotencyFingerprint, int imageCount, int totalSteps,
                      long seed, int maxAttempts) {
        this.id = id;
        this.tenant = tenant;
        this.baseModel = baseModel;
        this.request = request;
        this.metadata = metadata;
        this.idempotencyKey = idempotencyKey;
        this.idempotencyFingerprint = idempotencyFingerprint;
        this.status = JobStatus.QUEUED.wireName();
        this.imageCount = imageCount;
        this.totalSteps = totalSteps;
        this.seed = seed;
        this.maxAttempts = maxAttempts;
        this.createdAt = Instant.now();
    }

    public String getId() { return id; }
    public Long getSeq() { return seq; }
    public String getTenant() { return tenant; }
    public String getBaseModel() { return baseModel; }
    public String getRequest() { return request; }
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
    public int getImageCount() { return imageCount; }
    public int getStep() { return step; }
    public int getTotalSteps() { return totalSteps; }
    public long getSeed() { return seed; }
    public Long getPeakBytes() { return peakBytes; }
    public String getMemoryDevice() { return memoryDevice; }
    public String getError() { return error; }
    public Instant getCreatedAt() { return createdAt; }
    public Instant getStartedAt() { return startedAt; }
    public Instant getFinishedAt() { return finishedAt; }
}
