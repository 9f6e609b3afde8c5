package dev.selectune.diffusion.nn;

import com.sun.jna.Function;
import com.sun.jna.NativeLibrary;
import com.sun.jna.Platform;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sets where glibc's malloc stops reusing freed tensor memory and hands it back to the operating system.
 *
 * <p>libtorch allocates CPU tensors with plain malloc. By default glibc serves blocks above a dynamic threshold
 * (raised each time such a block is freed, up to 32 MiB, with a trim threshold of twice that) with mmap, so tensors
 * of a few MiB soon come from the heap and are reused, at the price of fragmentation: a phase peaks higher and some
 * memory stays resident. Fixing the threshold low ({@link #LEAN_THRESHOLD_BYTES}) maps and unmaps every activation
 * and oneDNN scratch buffer, so each of them is page-faulted in again on every op: lean, but the CPU spends much of a
 * forward in the kernel zeroing pages. {@link #DEFAULT_THRESHOLD_BYTES} sits between: the SD activations (a few MiB)
 * are reused from the heap as with glibc's default, while the largest blocks and the free top of the heap go back at
 * once. {@link TorchRuntime} applies {@code SELECTUNE_MALLOC_THRESHOLD}; docs/training.md ("Native allocator and
 * OpenMP waiting") has the measured faults, time and peaks of each setting.
 */
public final class NativeAllocator {
    /** The lean threshold (the 16x16 and 8x8 activations of a 256 px backward are already above it). */
    public static final int LEAN_THRESHOLD_BYTES = 256 << 10;
    /**
     * The default: above the largest SD1.5 activation at 512 px (320 x 64 x 64 floats, 5 MiB), below glibc's dynamic
     * maximum, so the heap's free top above it is trimmed instead of kept.
     */
    public static final int DEFAULT_THRESHOLD_BYTES = 16 << 20;
    /**
     * libtorch's own switch (c10's {@code alloc_cpu}, read at its first allocation): with it, every CPU tensor of
     * 2 MiB or more is advised to transparent huge pages ({@code madvise(MADV_HUGEPAGE)}).
     */
    public static final String HUGE_PAGES_VARIABLE = "THP_MEM_ALLOC_ENABLE";
    private static final Path THP_MODE = Path.of("/sys/kernel/mm/transparent_hugepage/enabled");
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
        int bytes = thresholdFor(value);
        if (bytes > 0) {
            returnLargeBlocksToOs(bytes);
        }
    }

    /**
     * Asks libtorch to back its tensors of 2 MiB or more with transparent huge pages, unless the environment says
     * otherwise ({@code THP_MEM_ALLOC_ENABLE=0} turns it off). Must run before libtorch's first allocation.
     *
     * <p>Every page a tensor touches for the first time is a page fault, and a forward or a backward touches
     * gigabytes of fresh memory: freed activations go back to the operating system (above the threshold, or when
     * trimmed between steps). A huge page is one fault for 512 small ones. Where faults are dear, as on a virtual
     * machine, this is the difference between a forward that computes and one that waits on the kernel
     * (docs/training.md, "Transparent huge pages"). Where the kernel's THP mode is {@code never} nothing changes.
     *
     * @return true when this set it
     */
    public static boolean preferHugePages() {
        return NativeEnvironment.setUnlessPresent(HUGE_PAGES_VARIABLE, "1");
    }

    /**
     * Whether libtorch will advise its large tensors to huge pages: the variable as native code sees it, read as c10's
     * {@code check_env} reads it (exactly "1" is on; "0" and anything else, which it warns about, are off).
     */
    public static boolean hugePagesRequested() {
        return "1".equals(NativeEnvironment.get(HUGE_PAGES_VARIABLE));
    }

    /** The kernel's transparent huge page mode ({@code always}, {@code madvise} or {@code never}), or "unknown". */
    public static String kernelHugePageMode() {
        try {
            String modes = Files.readString(THP_MODE);
            int open = modes.indexOf('[');
            int close = modes.indexOf(']', open + 1);
            return open >= 0 && close > open ? modes.substring(open + 1, close) : "unknown";
        } catch (IOException | RuntimeException e) {
            return "unknown";
        }
    }

    /** The threshold a {@code SELECTUNE_MALLOC_THRESHOLD} value asks for; 0 means glibc's dynamic one. */
    static int thresholdFor(String value) {
        int bytes = value == null || value.isBlank() ? DEFAULT_THRESHOLD_BYTES : Integer.parseInt(value.trim());
        if (bytes < 0) {
            throw new IllegalArgumentException("SELECTUNE_MALLOC_THRESHOLD: must be >= 0 bytes, got " + value);
        }
        return bytes;
    }

    /** The threshold fixed in this process, or 0 while glibc's dynamic default is in place. */
    public static int fixedThresholdBytes() {
        return fixedThresholdBytes;
    }

    /** As {@link #returnLargeBlocksToOs(int)} with {@link #LEAN_THRESHOLD_BYTES}. */
    public static boolean returnLargeBlocksToOs() {
        return returnLargeBlocksToOs(LEAN_THRESHOLD_BYTES);
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
