package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.Table;

import java.time.Instant;

/** A tenant's uploaded training images; the bytes are in the blob store under {@code image-sets/{id}/}. */
@Entity
@Table(name = "image_sets")
public class ImageSet {
    @Id
    private String id;
    private String tenant;
    private int imageCount;
    private long totalBytes;
    private Instant createdAt;

    protected ImageSet() {
    }

    public ImageSet(String id, String tenant, int imageCount, long totalBytes) {
        this.id = id;
        this.tenant = tenant;
        this.imageCount = imageCount;
        this.totalBytes = totalBytes;
        this.createdAt = Instant.now();
    }

    public String getId() { return id; }
    public String getTenant() { return tenant; }
    public int getImageCount() { return imageCount; }
    public long getTotalBytes() { return totalBytes; }
    public Instant getCreatedAt() { return createdAt; }
}
