package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;

/**
 * One sampling step's result.
 *
 * @param prevSample         the sample at the next (less noisy) timestep
 * @param predOriginalSample the model's estimate of the clean sample x0 at this step
 */
public record SchedulerOutput(NDArray prevSample, NDArray predOriginalSample) implements AutoCloseable {
    @Override
    public void close() {
        prevSample.close();
        predOriginalSample.close();
    }
}
