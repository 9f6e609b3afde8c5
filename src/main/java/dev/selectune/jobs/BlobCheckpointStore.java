package dev.selectune.jobs;

import dev.selectune.storage.BlobStore;
import dev.selectune.training.CheckpointStore;

import java.util.Optional;
import java.util.function.IntConsumer;

/**
 * A job's trainer checkpoint in the blob store ({@code jobs/{id}/checkpoint}), where any worker of any replica finds
 * it when it takes the job over.
 */
public class BlobCheckpointStore implements CheckpointStore {
    private final BlobStore blobs;
    private final String key;
    private final IntConsumer onSaved;

    public BlobCheckpointStore(BlobStore blobs, String jobId, IntConsumer onSaved) {
        this.blobs = blobs;
        this.key = key(jobId);
        this.onSaved = onSaved;
    }

    public static String key(String jobId) {
        return "jobs/" + jobId + "/checkpoint";
    }

    @Override
    public void save(int step, byte[] checkpoint) {
        blobs.put(key, checkpoint);
        onSaved.accept(step);
    }

    @Override
    public Optional<byte[]> load() {
        return blobs.get(key);
    }
}
