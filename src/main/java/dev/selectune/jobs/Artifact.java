package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.io.Serializable;
import java.time.Instant;

/** A file a job produced ({@code lora.safetensors}, {@code lora-kohya.safetensors}, {@code metrics.json}, samples). */
@Entity
@Table(name = "artifacts")
@IdClass(Artifact.Key.class)
public class Artifact {
    @Id
    private String jobId;
    @Id
    private String name;
    private String blobKey;
    private String contentType;
    private long sizeBytes;
    private String sha256;
    private Instant createdAt;

    public record Key(String jobId, String name) implements Serializable {
        public Key() {
            this(null, null);
        }
    }

    protected Artifact() {
    }

    public Artifact(String jobId, String name, String blobKey, String contentType, long sizeBytes, String sha256) {
        this.jobId = jobId;
        this.name = name;
        this.blobKey = blobKey;
        this.contentType = contentType;
        this.sizeBytes = sizeBytes;
        this.sha256 = sha256;
        this.createdAt = Instant.now();
    }

    public String getJobId() { return jobId; }
    public String getName() { return name; }
    public String getBlobKey() { return blobKey; }
    public String getContentType() { return contentType; }
    public long getSizeBytes() { return sizeBytes; }
    public String getSha256() { return sha256; }
    public Instant getCreatedAt() { return createdAt; }
}
