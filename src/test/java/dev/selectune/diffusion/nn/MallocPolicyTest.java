package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * By default the runtime fixes glibc's mmap threshold above the activations (16 MiB), so a tensor freed and
 * allocated again reuses resident memory instead of being mapped and page-faulted in anew on every op (a fixed
 * 256 KiB threshold made a forward ~1.6x slower).
 */
@EnabledOnOs(OS.LINUX)
class MallocPolicyTest {
    private static final int FLOATS = 2 << 20; // 8 MiB: above a fixed low threshold, below the default one
    private static final int ROUNDS = 30;

    @Test
    void aReallocatedActivationIsNotFaultedInAgain() {
        TorchRuntime.initialize();
        assertEquals(NativeAllocator.DEFAULT_THRESHOLD_BYTES, NativeAllocator.fixedThresholdBytes(),
                "SELECTUNE_MALLOC_THRESHOLD is set for this test run");
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            for (int i = 0; i < 3; i++) {
                m.ones(new Shape(FLOATS)).close();
            }
            long before = ProcessStat.read().minorFaults();
            for (int i = 0; i < ROUNDS; i++) {
                NDArray a = m.ones(new Shape(FLOATS));
                a.close();
            }
            long faults = ProcessStat.read().minorFaults() - before;
            long pagesPerTensor = FLOATS * 4L / 4096;
            // A fixed 256 KiB threshold faults every tensor's pages in again, ROUNDS x pagesPerTensor and a few
            // more; the default threshold (as glibc's dynamic one) about a quarter of that.
            assertTrue(faults < ROUNDS * pagesPerTensor / 2, faults + " minor page faults for " + ROUNDS
                    + " allocations of an 8 MiB tensor (" + pagesPerTensor + " pages each)");
        }
    }

}
