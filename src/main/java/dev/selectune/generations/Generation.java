package dev.selectune.generations;

import dev.selectune.jobs.QueueEntry;
import jakarta.persistence.Entity;
import jakarta.persistence.Table;

/**
 * A text-to-image request and its own queue entry, like a {@code Job} ({@link QueueEntry}: status, lease, progress,
 * outcome). The API reads generations through JPA; every change of state is a guarded UPDATE in
 * {@link GenerationQueue}, which is also the one place a status changes.
 */
@Entity
@Table(name = "generations")
public class Generation extends QueueEntry {
    /** The resolved {@link GenerationSpec} (defaults filled in, LoRAs resolved), as JSON. */
    private String request;
    private int imageCount;
    private long seed;

    protected Generation() {
    }

    public Generation(String id, String tenant, String baseModel, String request, String metadata,
                      String idempotencyKey, String idempotencyFingerprint, int imageCount, int totalSteps,
                      long seed, int maxAttempts) {
        super(id, tenant, baseModel, metadata, idempotencyKey, idempotencyFingerprint, totalSteps, maxAttempts);
        this.request = request;
        this.imageCount = imageCount;
        this.seed = seed;
    }

    public String getRequest() { return request; }
    public int getImageCount() { return imageCount; }
    public long getSeed() { return seed; }
}
