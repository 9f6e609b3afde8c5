package dev.selectune.diffusion.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * Makes glibc's malloc hand freed tensor memory back to the operating system.
 *
 * <p>libtorch allocates CPU tensors with plain malloc. glibc serves blocks above its mmap threshold with mmap and
 * unmaps them on free, but it raises that threshold every time such a block is freed (up to 32 MiB), after which
 * tensors of a few MiB come from the heap and stay resident when freed, fragmented. Measured on the SD1.5 UNet at
 * 512x512: a no-grad forward peaked 0.41-0.49 GiB above the weights and left 0.37-0.40 GiB resident afterwards;
 * with a fixed 1 MiB threshold it peaked 0.28 GiB and left 0.05 GiB.
 *
 * <p>The default threshold is 256 KiB. A backward at 256x256 (BP-low at r = 0.5) keeps hundreds of tensors of
 * 256 KiB to 1 MiB (the 16x16 and 8x8 levels); below a 1 MiB threshold they share the arenas with longer-lived small
 * blocks and leave holes. Measured on the SD1.5 UNet, forward and backward into the LoRA at 256x256: peak 0.77-0.80
 * GiB above the weights at 1 MiB, 0.67 at 256 KiB and 0.67 at 128 KiB; a 512x512 no-grad forward or backward peaks
 * the same at 256 KiB as at 1 MiB, and took as long (10.4-11.9 s against 9.5-12.3 s per forward, within the
 * machine's noise). This is the same as starting the process with {@code MALLOC_MMAP_THRESHOLD_} and
 * {@code MALLOC_TRIM_THRESHOLD_} set.
 */
public final class NativeAllocator {
    /** The threshold {@link #returnLargeBlocksToOs()} sets. */
    public static final int DEFAULT_THRESHOLD_BYTES = 256 << 10;
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

    /**
     * Hands the free pages inside malloc's arenas back to the operating system ({@code malloc_trim(0)}). The
     * threshold above only returns whole blocks; freed small tensors (below it) leave holes in the arenas that stay
     * resident until trimmed, and the next step would start its peak from them.
     *
     * @return false where there is no glibc {@code malloc_trim}
     */
    public static boolean releaseFreeMemory() {
        if (!Platform.isLinux()) {
            return false;
        }
        try {
            NativeLibrary.getInstance("c").getFunction("malloc_trim").invokeInt(new Object[] {0});
            return true;
        } catch (UnsatisfiedLinkError e) {
            return false;
        }
    }
}
