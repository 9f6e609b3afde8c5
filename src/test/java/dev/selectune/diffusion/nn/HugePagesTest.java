package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * libtorch backs its large tensors with transparent huge pages when {@code THP_MEM_ALLOC_ENABLE} is set before its
 * first allocation, which the runtime does from Java ({@link NativeAllocator#preferHugePages}).
 */
@EnabledOnOs(OS.LINUX)
class HugePagesTest {
    private static final long FLOATS = 16L << 20; // 64 MiB, above the mmap threshold: freshly mapped

    @Test
    void aVariableSetFromJavaIsWhatNativeCodeReadsAndAPresentOneWins() {
        String name = "SELECTUNE_TEST_NATIVE_ENVIRONMENT";
        assertTrue(NativeEnvironment.setUnlessPresent(name, "first"));
        assertEquals("first", NativeEnvironment.get(name));
        // Native setenv does not reach System.getenv's copy, so "present" must also mean present natively.
        assertFalse(NativeEnvironment.setUnlessPresent(name, "second"));
        assertEquals("first", NativeEnvironment.get(name));
    }

    @Test
    void theRuntimeRequestsHugePagesForLibtorch() {
        TorchRuntime.initialize();
        String configured = System.getenv(NativeAllocator.HUGE_PAGES_VARIABLE);
        // c10 takes exactly "1" as on; unset, the runtime sets "1".
        assertEquals(configured == null || configured.equals("1"), NativeAllocator.hugePagesRequested());
    }

    /** Where the kernel allows huge pages, a large tensor is nearly all on them; where it does not, none is. */
    @Test
    void aLargeTensorLandsOnHugePagesWhereTheKernelAllowsThem() throws IOException {
        TorchRuntime.initialize();
        String mode = NativeAllocator.kernelHugePageMode();
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            long before = anonHugePagesBytes();
            NDArray a = m.ones(new Shape(FLOATS));
            long gained = anonHugePagesBytes() - before;
            long bytes = FLOATS * 4;
            if (mode.equals("never") || !NativeAllocator.hugePagesRequested() && !mode.equals("always")) {
                assertEquals(0, gained, "huge pages with the kernel's THP mode " + mode);
            } else {
                // All but the 2 MiB ranges the unaligned mapping only partly covers.
                assertTrue(gained >= bytes - (4L << 20), gained + " bytes on huge pages for a " + bytes
                        + "-byte tensor with the kernel's THP mode " + mode);
            }
            a.close();
        }
    }

    @Test
    void theKernelModeIsOneOfItsThree() {
        String mode = NativeAllocator.kernelHugePageMode();
        assertTrue(mode.equals("always") || mode.equals("madvise") || mode.equals("never"), mode);
        assertFalse(mode.contains("["), mode);
    }

    private static long anonHugePagesBytes() throws IOException {
        for (String line : Files.readAllLines(Path.of("/proc/self/smaps_rollup"))) {
            if (line.startsWith("AnonHugePages:")) {
                return Long.parseLong(line.replaceAll("\\D", "")) * 1024;
            }
        }
        throw new IllegalStateException("no AnonHugePages in /proc/self/smaps_rollup");
    }
}
