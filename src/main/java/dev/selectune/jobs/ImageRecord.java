package dev.selectune.jobs;

import jakarta.persistence.Entity;
import jakarta.persistence.Id;
import jakarta.persistence.IdClass;
import jakarta.persistence.Table;

import java.io.Serializable;

/** One image of an image set: what the probe read from its header, and where its bytes are. */
@Entity
@Table(name = "images")
@IdClass(ImageRecord.Key.class)
public class ImageRecord {
    @Id
    private String imageSetId;
    @Id
    private int position;
    private String blobKey;
    private String filename;
    private String format;
    private int width;
    private int height;
    private long sizeBytes;
    private String sha256;

    public record Key(String imageSetId, int position) implements Serializable {
        public Key() {
            this(null, 0);
        }
    }

    protected ImageRecord() {
    }

    public ImageRecord(String imageSetId, int position, String blobKey, String filename, String format, int width,
                       int height, long sizeBytes, String sha256) {
        this.imageSetId = imageSetId;
        this.position = position;
        this.blobKey = blobKey;
        this.filename = filename;
        this.format = format;
        this.width = width;
        this.height = height;
        this.sizeBytes = sizeBytes;
        this.sha256 = sha256;
    }

    public String getImageSetId() { return imageSetId; }
    public int getPosition() { return position; }
    public String getBlobKey() { return blobKey; }
    public String getFilename() { return filename; }
    public String getFormat() { return format; }
    public int getWidth() { return width; }
    public int getHeight() { return height; }
    public long getSizeBytes() { return sizeBytes; }
    public String getSha256() { return sha256; }
}
