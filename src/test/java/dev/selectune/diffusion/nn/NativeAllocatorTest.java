package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.training.memory.MemoryProbe;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * Freed tensors below the mmap threshold leave holes in malloc's arenas; {@link NativeAllocator#releaseFreeMemory()}
 * must give those pages back, or a step's peak would start from the previous step's leftovers.
 */
@EnabledOnOs(OS.LINUX)
class NativeAllocatorTest {
    private static final int TENSORS = 512;
    // 64 KiB: below glibc's smallest mmap threshold (128 KiB), so from an arena. The test does not fix the threshold:
    // that cannot be undone and would slow every later test in this JVM (see NativeAllocator).
    private static final long FLOATS = 16 * 1024;

    /**
     * Without {@code SELECTUNE_MALLOC_THRESHOLD} (or with 0) glibc's dynamic default stays. Fixing a threshold is not
     * tested in this JVM: it cannot be undone and would slow every later test (MallocPolicyTest measures both).
     */
    @Test
    void absentOrZeroSettingKeepsGlibcsDefault() {
        NativeAllocator.applySetting(null);
        assertEquals(0, NativeAllocator.fixedThresholdBytes());
        NativeAllocator.applySetting("0");
        assertEquals(0, NativeAllocator.fixedThresholdBytes());
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
