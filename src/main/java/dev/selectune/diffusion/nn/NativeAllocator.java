package dev.selectune.diffusion.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * Makes glibc's malloc hand large freed blocks back to the operating system.
 *
 * <p>libtorch allocates CPU tensors with plain malloc. glibc serves blocks above its mmap threshold with mmap and
 * unmaps them on free, but it raises that threshold every time such a block is freed (up to 32 MiB), after which
 * tensors of a few MiB come from the heap and stay resident when freed, fragmented. Measured on the SD1.5 UNet at
 * 512x512: a no-grad forward peaked 0.41-0.49 GiB above the weights and left 0.37-0.40 GiB resident afterwards;
 * with a fixed 1 MiB threshold it peaked 0.28 GiB and left 0.05 GiB, for about 25% more CPU time spent in page
 * faults. A process that runs many steps and reports its memory per step wants the fixed threshold; this is the
 * same as starting it with {@code MALLOC_MMAP_THRESHOLD_} and {@code MALLOC_TRIM_THRESHOLD_} set.
 */
public final class NativeAllocator {
    /** The threshold {@link #returnLargeBlocksToOs()} sets. */
    public static final int DEFAULT_THRESHOLD_BYTES = 1 << 20;
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_MMAP_THRESHOLD = -3;

    private NativeAllocator() {
    }

    /** As {@link #returnLargeBlocksToOs(int)} with {@link #DEFAULT_THRESHOLD_BYTES}. */
    public static boolean returnLargeBlocksToOs() {
        return returnLargeBlocksToOs(DEFAULT_THRESHOLD_BYTES);
    }

    /**
     * Fixes glibc's mmap and trim thresholds at {@code thresholdBytes} for the rest of the process.
     *
     * @return false where there is no glibc {@code mallopt} (not Linux, or musl), which leaves malloc as it was
     */
    public static synchronized boolean returnLargeBlocksToOs(int thresholdBytes) {
        if (!Platform.isLinux()) {
            return false;
        }
        try {
            Function mallopt = NativeLibrary.getInstance("c").getFunction("mallopt");
            boolean mmap = mallopt.invokeInt(new Object[] {M_MMAP_THRESHOLD, thresholdBytes}) == 1;
            boolean trim = mallopt.invokeInt(new Object[] {M_TRIM_THRESHOLD, thresholdBytes}) == 1;
            return mmap && trim;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }
}
