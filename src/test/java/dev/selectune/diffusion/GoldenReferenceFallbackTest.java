package dev.selectune.diffusion;

import dev.selectune.diffusion.nn.Kernels;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;

/**
 * Every golden entry again with {@code selectune.kernels=fallback}: the NDArray compositions that run wherever the
 * fused kernels cannot must meet the same tolerances.
 */
class GoldenReferenceFallbackTest extends GoldenReferenceTest {
    private static Kernels.Mode previous;

    @BeforeAll
    static void useFallbackKernels() {
        previous = Kernels.mode();
        Kernels.setMode(Kernels.Mode.FALLBACK);
    }

    @AfterAll
    static void restoreKernels() {
        Kernels.setMode(previous);
    }
}
