package dev.selectune.training;

import java.util.Optional;

/**
 * Where the trainer keeps its resumable state (LoRA, optimizer state, step, RNG state) as one opaque blob.
 * The CLI keeps it in a file, the service in its blob store, so another worker can resume a job.
 */
public interface CheckpointStore {
    /** Replaces the stored checkpoint with {@code checkpoint}, taken after {@code step} steps. */
    void save(int step, byte[] checkpoint);

    /** The latest checkpoint, if any. */
    Optional<byte[]> load();

    CheckpointStore NONE = new CheckpointStore() {
        @Override
        public void save(int step, byte[] checkpoint) {
        }

        @Override
        public Optional<byte[]> load() {
            return Optional.empty();
        }
    };
}
