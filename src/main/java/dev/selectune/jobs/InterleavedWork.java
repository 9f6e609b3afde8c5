package dev.selectune.jobs;

import ai.djl.Device;

import java.util.function.BooleanSupplier;

/**
 * Short work that the training workers take between two training steps of the job they run, and when they have no
 * job: text-to-image generations (docs/service.md, "Generations"). The jobs package knows only this interface, so
 * what runs in between lives in its own package.
 */
public interface InterleavedWork {
    /**
     * Claims and runs at most one queued piece of work on {@code device}, on the calling (worker) thread. Once
     * {@code shuttingDown} answers true (the worker pool is stopping, as in {@link WorkerPool#stop()}), the work in
     * progress goes back to its queue for another worker, as a job does, rather than run to its end or fail.
     *
     * @return whether one ran
     */
    boolean runOne(String workerId, Device device, BooleanSupplier shuttingDown);
}
