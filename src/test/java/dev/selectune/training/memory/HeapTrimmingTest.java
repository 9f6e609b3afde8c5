package dev.selectune.training.memory;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * When the trainer trims malloc's free pages: at the first step and whenever the strategy changes, never between
 * steps of one strategy whose peak stays put, and once a step's peak has grown past the allowance. The peaks are the
 * real resident-set high-water marks (Linux), raised by touching a tensor.
 */
@EnabledOnOs(OS.LINUX)
class HeapTrimmingTest {
    private static final long ALLOWANCE = 32L << 20;
    /** 128 MiB of floats: well past the allowance, and above the mmap threshold, so freed at once when closed. */
    private static final long RAISE_FLOATS = 32L << 20;

    private final MemoryProbe probe = MemoryProbe.cpu();

    @Test
    void trimsAtTheFirstStepAndWhenTheKindChanges() {
        HeapTrimming trimming = new HeapTrimming(probe, ALLOWANCE);
        assertTrue(step(trimming, "bp-low"), "first step");
        assertFalse(step(trimming, "bp-low"), "same kind, same peak");
        assertFalse(step(trimming, "bp-low"), "same kind, same peak");
        assertTrue(step(trimming, "zo-high"), "the kind changed");
        assertTrue(step(trimming, "bp-low"), "changed back");
        assertEquals(3, trimming.trims());
    }

    @Test
    void trimsOnceAStepPeakedPastTheAllowanceAboveTheFirstStepAfterATrim() {
        HeapTrimming trimming = new HeapTrimming(probe, ALLOWANCE);
        assertTrue(step(trimming, "bp"));
        assertFalse(step(trimming, "bp"), "records the peak of the step after the trim");
        raisePeak();
        assertTrue(step(trimming, "bp"), "the last step peaked 128 MiB higher");
        assertFalse(step(trimming, "bp"), "a fresh start after the trim");
    }

    @Test
    void aLargerAllowanceKeepsThePagesThroughTheSameGrowth() {
        HeapTrimming trimming = new HeapTrimming(probe, 1L << 30);
        assertTrue(step(trimming, "bp"));
        assertFalse(step(trimming, "bp"));
        raisePeak();
        assertFalse(step(trimming, "bp"));
    }

    @Test
    void aStepThatWantsATrimmedHeapGetsOne() {
        HeapTrimming trimming = new HeapTrimming(probe, ALLOWANCE);
        assertTrue(step(trimming, "bp"));
        assertFalse(step(trimming, "bp"));
        boolean trimmed = trimming.beforeStep("bp", false);
        probe.reset();
        assertTrue(trimmed);
    }

    @Test
    void zeroAllowanceTrimsBeforeEveryStep() {
        HeapTrimming trimming = new HeapTrimming(probe, 0);
        for (int i = 0; i < 3; i++) {
            assertTrue(step(trimming, "bp"));
        }
        assertThrows(IllegalArgumentException.class, () -> new HeapTrimming(probe, -1));
    }

    /** As the trainer does: decide, then reset the probe so that the high-water mark belongs to the step. */
    private boolean step(HeapTrimming trimming, String kind) {
        boolean trimmed = trimming.beforeStep(kind);
        probe.reset();
        return trimmed;
    }

    private static void raisePeak() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            m.ones(new Shape(RAISE_FLOATS)).sum().getFloat();
        }
    }
}
