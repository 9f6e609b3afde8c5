package dev.selectune.storage;

import java.util.Optional;

/**
 * Where the bytes live: uploaded images, checkpoints and artifacts. Keys are slash-separated paths such as
 * {@code jobs/job_x/lora.safetensors}. Metadata (size, sha256, owner) is kept in the database by the callers.
 */
public interface BlobStore {
    /** Stores (or replaces) the blob under {@code key}. */
    void put(String key, byte[] data);

    Optional<byte[]> get(String key);

    void delete(String key);

    /** Deletes every blob whose key starts with {@code prefix}. */
    void deletePrefix(String prefix);
}
