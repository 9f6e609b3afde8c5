package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.training.memory.MemoryProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Freed tensors below the mmap threshold leave holes in malloc's arenas; {@link NativeAllocator#releaseFreeMemory()}
 * must give those pages back, or a step's peak would start from the previous step's leftovers.
 */
@EnabledOnOs(OS.LINUX)
class NativeAllocatorTest {
    private static final int TENSORS = 512;
    // 64 KiB: below any mmap threshold (glibc's smallest is 128 KiB), so from an arena.
    private static final long FLOATS = 16 * 1024;

    /**
     * Without {@code SELECTUNE_MALLOC_THRESHOLD} the default threshold is fixed; 0 keeps glibc's dynamic one. A fixed
     * threshold cannot be undone in a JVM, so only the default (which every process of this project has) is applied.
     */
    @Test
    void absentSettingFixesTheDefaultAndZeroKeepsGlibcs() {
        assertEquals(NativeAllocator.DEFAULT_THRESHOLD_BYTES, NativeAllocator.thresholdFor(null));
        assertEquals(0, NativeAllocator.thresholdFor("0"));
        assertEquals(262144, NativeAllocator.thresholdFor(" 262144 "));
        assertThrows(IllegalArgumentException.class, () -> NativeAllocator.thresholdFor("-1"));
        NativeAllocator.applySetting(null);
        assertEquals(NativeAllocator.DEFAULT_THRESHOLD_BYTES, NativeAllocator.fixedThresholdBytes());
    }

    @Test
    void trimmingReturnsTheHolesThatFreedSmallTensorsLeave() {
        MemoryProbe probe = MemoryProbe.cpu();
        try (NDManager pins = NDManager.newBaseManager("PyTorch")) {
            long freed;
            try (NDManager holes = NDManager.newBaseManager("PyTorch")) {
                for (int i = 0; i < TENSORS; i++) {
                    holes.ones(new Shape(FLOATS));
                    // A live block after each one keeps the freed ones from coalescing into a trimmable top.
                    pins.ones(new Shape(64));
                }
                freed = TENSORS * FLOATS * 4;
            }
            long before = probe.read().currentBytes();
            assertTrue(NativeAllocator.releaseFreeMemory(), "glibc malloc_trim");
            long after = probe.read().currentBytes();
            assertTrue(before - after >= freed / 2, "resident set fell by only " + (before - after)
                    + " bytes after freeing " + freed + " bytes in 64 KiB tensors");
        }
    }
}
