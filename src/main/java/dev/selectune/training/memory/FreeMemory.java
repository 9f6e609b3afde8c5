package dev.selectune.training.memory;

import dev.selectune.diffusion.nn.NativeAllocator;

/**
 * Gives memory that nothing uses back to the operating system, so that a resident-set peak measured next belongs to
 * the phase measured and not to earlier garbage.
 *
 * <p>Two kinds of garbage stay resident on the CPU. Freed tensors below glibc's mmap threshold leave holes in
 * malloc's arenas ({@link #returnNative()}). And the JVM heap: every tensor op allocates a few small Java objects,
 * so a training step makes megabytes of Java garbage, and G1 spreads its young collections over more and more of
 * the heap it has committed (the initial heap is 1/64 of RAM, 384 MiB on a 24 GB machine). Measured in
 * {@code bench trainer} at 512 px: the heap's resident pages grew from 0.045 to 0.12 GiB over the first few ZO
 * steps, while less than 0.05 GiB of it was live. A full collection lets G1 shrink the heap to a little above
 * what is live and uncommit the rest ({@link #returnJavaHeap()}); the young generation then stays small, since it
 * is a share of the heap.
 */
public final class FreeMemory {
    private static final int UNCOMMIT_POLLS = 50;
    private static final long POLL_MILLIS = 10;

    private FreeMemory() {
    }

    /** The free pages inside malloc's arenas ({@code malloc_trim}); cheap; {@link HeapTrimming} decides when. */
    public static void returnNative() {
        NativeAllocator.releaseFreeMemory();
    }

    /**
     * A full collection, after which G1 shrinks the heap; the uncommit runs in the background, so this waits (at
     * most half a second) until the resident set stops falling. Costs a full GC: done once before a job's first
     * step, not per step. Does nothing useful under {@code -XX:+DisableExplicitGC}.
     */
    public static void returnJavaHeap() {
        System.gc();
        MemoryProbe probe = MemoryProbe.cpu();
        long previous = probe.read().currentBytes();
        for (int i = 0; i < UNCOMMIT_POLLS; i++) {
            try {
                Thread.sleep(POLL_MILLIS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return;
            }
            long now = probe.read().currentBytes();
            if (now >= previous) {
                return;
            }
            previous = now;
        }
    }
}
