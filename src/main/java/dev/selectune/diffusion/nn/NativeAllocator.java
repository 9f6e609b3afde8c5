package dev.selectune.diffusion.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

/**
 * Makes glibc's malloc hand freed tensor memory back to the operating system.
 *
 * <p>libtorch allocates CPU tensors with plain malloc. glibc serves blocks above its mmap threshold with mmap and
 * unmaps them on free, but it raises that threshold every time such a block is freed (up to 32 MiB), after which
 * tensors of a few MiB come from the heap and stay resident when freed, fragmented: a UNet forward then leaves most
 * of its peak resident afterwards.
 *
 * <p>The default threshold is 256 KiB rather than 1 MiB: a backward at the low resolution keeps hundreds of tensors
 * of 256 KiB to 1 MiB, which below a 1 MiB threshold share the arenas with longer-lived small blocks and leave holes.
 * The figures behind both choices are in docs/engine.md. This is the same as starting the process with
 * {@code MALLOC_MMAP_THRESHOLD_} and {@code MALLOC_TRIM_THRESHOLD_} set.
 */
public final class NativeAllocator {
    /** The threshold {@link #returnLargeBlocksToOs()} sets. */
    public static final int DEFAULT_THRESHOLD_BYTES = 256 << 10;
    private static final int M_TRIM_THRESHOLD = -1;
    private static final int M_MMAP_THRESHOLD = -3;
    /** The threshold fixed in this process, 0 while glibc's dynamic one is in place (it cannot be restored). */
    private static volatile int fixedThresholdBytes;

    private NativeAllocator() {
    }

    /**
     * Applies the process's setting, {@code SELECTUNE_MALLOC_THRESHOLD}: absent, {@link #DEFAULT_THRESHOLD_BYTES};
     * 0, glibc's dynamic default stays; else that many bytes.
     */
    public static void applySetting(String value) {
        int bytes = value == null ? DEFAULT_THRESHOLD_BYTES : Integer.parseInt(value.trim());
        if (bytes > 0) {
            returnLargeBlocksToOs(bytes);
        }
    }

    /** The threshold fixed in this process, or 0 while glibc's dynamic default is in place. */
    public static int fixedThresholdBytes() {
        return fixedThresholdBytes;
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
            if (mmap && trim) {
                fixedThresholdBytes = thresholdBytes;
            }
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
