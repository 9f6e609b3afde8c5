package dev.selectune.training.memory;

import java.util.Objects;

/**
 * Decides before each step whether to hand malloc's free pages back to the operating system
 * ({@link FreeMemory#returnNative()}).
 *
 * <p>Trimming before every step keeps each step's peak its own, but it costs the next step a page fault for every
 * page it touches again: a forward with grad faults most of its activations back in, page by page, and on a
 * virtual machine that is seconds of kernel time a step. A step of the same kind as the last one
 * allocates the same tensors in the same order, so it reuses the holes the last one left: between steps the process
 * keeps about its peak resident, as a caching allocator does, and the next peak is only a little higher. This trims when
 * the kind changes (a ZO step would otherwise start its peak from a BP step's holes), and when fragmentation has
 * raised a step's peak more than {@code peakGrowthBytes} above the peak of the first step after the last trim.
 * {@code peakGrowthBytes} = 0 trims before every step. docs/training.md ("Trimming between steps") has the
 * measurements.
 *
 * <p>The peak it reads is the probe's high-water mark since the caller's last {@link MemoryProbe#reset()}, which the
 * trainer resets after every {@link #beforeStep}; a caller that resets less often (once per benchmark phase) gets the
 * largest peak so far, which bounds the growth the same way.
 */
public final class HeapTrimming {
    /** How far fragmentation may raise a step's peak before a trim: above what it settles at for a 512 px BP step. */
    public static final long DEFAULT_PEAK_GROWTH_BYTES = 256L << 20;

    private final MemoryProbe probe;
    private final long peakGrowthBytes;
    private Object lastKind;
    private boolean trimmedBeforeLastStep;
    private long peakAfterTrim;
    private int trims;

    public HeapTrimming(MemoryProbe probe, long peakGrowthBytes) {
        if (peakGrowthBytes < 0) {
            throw new IllegalArgumentException("peak growth must be >= 0 bytes, got " + peakGrowthBytes);
        }
        this.probe = probe;
        this.peakGrowthBytes = peakGrowthBytes;
    }

    public static HeapTrimming defaults(MemoryProbe probe) {
        return new HeapTrimming(probe, DEFAULT_PEAK_GROWTH_BYTES);
    }

    /**
     * Call before a step of {@code kind} (anything with {@code equals}, such as the step's strategy).
     *
     * @return whether it trimmed
     */
    public boolean beforeStep(Object kind) {
        return beforeStep(kind, true);
    }

    /**
     * As {@link #beforeStep(Object)}, for a caller that wants some kinds of step to start from a trimmed heap
     * anyway ({@code keepHoles} false).
     */
    public boolean beforeStep(Object kind, boolean keepHoles) {
        Objects.requireNonNull(kind, "kind");
        // On a GPU the tensors live in the device's caching allocator and malloc holds only host-side crumbs, so
        // trimming costs no refaults there (and the probe's peak is the device's, not malloc's).
        boolean trim = !keepHoles || peakGrowthBytes == 0 || !kind.equals(lastKind) || probe.isGpu() || peakGrew();
        lastKind = kind;
        trimmedBeforeLastStep = trim;
        if (trim) {
            FreeMemory.returnNative();
            trims++;
        }
        return trim;
    }

    /** Whether the last step peaked more than the allowed growth above the first step after the last trim. */
    private boolean peakGrew() {
        long lastPeak = probe.read().peakBytes();
        if (trimmedBeforeLastStep) {
            peakAfterTrim = lastPeak;
            return false;
        }
        return lastPeak - peakAfterTrim > peakGrowthBytes;
    }

    /** How many of the steps so far began with a trim. */
    public int trims() {
        return trims;
    }
}
