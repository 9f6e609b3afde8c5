package dev.selectune.training;

import ai.djl.Device;

import java.nio.file.Path;
import java.util.List;

/**
 * Runs one DreamBooth-LoRA job with selective optimization (BP-low / ZO-high, chosen per step by the schedule).
 * One instance per worker (device); {@link #run} loads the pipeline, prepares the data, trains, writes the results
 * into {@code outputDir} and releases every native tensor before it returns.
 */
public final class SelectiveTrainer {
    private final Path modelDir;
    private final Device device;

    public SelectiveTrainer(Path modelDir, Device device) {
        this.modelDir = modelDir;
        this.device = device;
    }

    /**
     * @param images      1 to {@link TrainingConfig#MAX_IMAGES} encoded images (JPEG, PNG, WebP)
     * @param checkpoints where periodic and cancellation checkpoints go; a stored checkpoint is resumed from
     * @throws IllegalArgumentException bad input (unreadable or too-small image, invalid config), before any step
     */
    public TrainingResult run(List<byte[]> images, TrainingConfig config, Path outputDir, StepListener listener,
                              CancellationToken cancel, CheckpointStore checkpoints) {
        throw new IllegalStateException("SelectiveTrainer is being written (" + modelDir + ", " + device + ")");
    }
}
