package dev.selectune.generations;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.io.Serializable;
import java.time.Instant;

/** One PNG a generation made ({@code image-<position>.png}), drawn from seed = the generation's seed + position. */
@Entity
@Table(name = "generation_images")
@IdClass(GenerationImage.Key.class)
public class GenerationImage {
    @Id
    private String generationId;
    @Id
    private int position;
    private String name;
    private long seed;
    private int width;
    private int height;
    private String blobKey;
    private String contentType;
    private long sizeBytes;
    private String sha256;
    private Instant createdAt;

    public record Key(String generationId, int position) implements Serializable {
        public Key() {
            this(null, 0);
        }
    }

    protected GenerationImage() {
    }

    public GenerationImage(String generationId, int position, long seed, int width, int height, String blobKey,
                           long sizeBytes, String sha256) {
        this.generationId = generationId;
        this.position = position;
        this.name = fileName(position);
        this.seed = seed;
        this.width = width;
        this.height = height;
        this.blobKey = blobKey;
        this.contentType = "image/png";
        this.sizeBytes = sizeBytes;
        this.sha256 = sha256;
        this.createdAt = Instant.now();
    }

    /** The artifact name of the image at {@code position}. */
    public static String fileName(int position) {
        return "image-" + position + ".png";
    }

    public String getGenerationId() { return generationId; }
    public int getPosition() { return position; }
    public String getName() { return name; }
    public long getSeed() { return seed; }
    public int getWidth() { return width; }
    public int getHeight() { return height; }
    public String getBlobKey() { return blobKey; }
    public String getContentType() { return contentType; }
    public long getSizeBytes() { return sizeBytes; }
    public String getSha256() { return sha256; }
    public Instant getCreatedAt() { return createdAt; }
}
