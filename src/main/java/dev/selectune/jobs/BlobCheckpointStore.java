package dev.selectune.jobs;

import dev.selectune.storage.BlobStore;
import dev.selectune.training.CheckpointStore;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.Optional;

/**
 * A job's trainer checkpoint in the blob store, where any worker of any replica finds it when it takes the job over.
 * Fenced by the lease: each save writes a new blob ({@code jobs/<id>/checkpoints/g<generation>-<n>}, never
 * overwritten) and moves the job's {@code checkpoint_key} to it in the same transaction only if the lease still
 * holds, so a worker that lost its lease can neither replace nor overwrite the checkpoint the job's new owner
 * resumes from. A refused save calls {@code onRefused} (the runner then stops the job locally).
 */
public class BlobCheckpointStore implements CheckpointStore {
    private static final Logger log = LoggerFactory.getLogger(BlobCheckpointStore.class);

    private final BlobStore blobs;
    private final JobQueue queue;
    private final JobQueue.Lease lease;
    private final Runnable onRefused;
    private int saves;

    public BlobCheckpointStore(BlobStore blobs, JobQueue queue, JobQueue.Lease lease, Runnable onRefused) {
        this.blobs = blobs;
        this.queue = queue;
        this.lease = lease;
        this.onRefused = onRefused;
    }

    /** Every checkpoint blob of the job starts with this: {@code jobs/<id>/checkpoints/...} and the old fixed key. */
    public static String prefix(String jobId) {
        return "jobs/" + jobId + "/checkpoint";
    }

    @Override
    public void save(int step, byte[] checkpoint) {
        String key = "jobs/" + lease.jobId() + "/checkpoints/g" + lease.generation() + "-" + (++saves);
        Optional<JobQueue.Checkpointed> saved = queue.checkpoint(lease, step, key, () -> blobs.put(key, checkpoint));
        if (saved.isEmpty()) {
            deleteQuietly(key);
            onRefused.run();
            return;
        }
        String replaced = saved.get().replacedKey();
        if (replaced != null && !replaced.equals(key)) {
            deleteQuietly(replaced);
        }
    }

    /** The checkpoint the job's row points to; its blob missing is an error, not a silent restart from step 0. */
    @Override
    public Optional<byte[]> load() {
        return queue.checkpointKey(lease.jobId()).map(key -> blobs.get(key).orElseThrow(() ->
                new IllegalStateException("checkpoint " + key + " of job " + lease.jobId()
                        + " is missing from the blob store")));
    }

    private void deleteQuietly(String key) {
        try {
            blobs.delete(key);
        } catch (RuntimeException e) {
            // Only space: nothing points to this blob, and deleting the job deletes everything under jobs/<id>/.
            log.warn("cannot delete checkpoint blob {}: {}", key, e.toString());
        }
    }
}
