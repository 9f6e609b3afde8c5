package dev.selectune.diffusion.nn;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import ai.djl.training.GradientCollector;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class MemoryFormatTest {
    @Test
    void conversionsChangeTheLayoutAndNeverTheValues() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(2, 3, 4, 5));
            assertFalse(MemoryFormat.isChannelsLast(x));
            NDArray cl = MemoryFormat.channelsLast(x);
            assertTrue(MemoryFormat.isChannelsLast(cl));
            assertArrayEquals(x.toFloatArray(), cl.toFloatArray());
            assertTrue(MemoryFormat.isChannelsLast(MemoryFormat.channelsLast(cl)));
            NDArray back = MemoryFormat.contiguous(cl);
            assertFalse(MemoryFormat.isChannelsLast(back));
            assertArrayEquals(new long[] {60, 20, 5, 1}, Kernels.strides(back));
            assertArrayEquals(x.toFloatArray(), back.toFloatArray());
            // What the models rely on: an element-wise op lays its result out as its first operand.
            assertTrue(MemoryFormat.isChannelsLast(cl.add(x)));
            assertFalse(MemoryFormat.isChannelsLast(x.add(cl)));
        }
    }

    @Test
    void gradientsFlowThroughTheConversions() {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray x = m.randomNormal(new Shape(1, 2, 3, 3));
            x.setRequiresGradient(true);
            try (GradientCollector gc = Engine.getInstance().newGradientCollector()) {
                gc.backward(MemoryFormat.contiguous(MemoryFormat.channelsLast(x)).square().sum());
            }
            float[] want = x.toFloatArray();
            float[] got = x.getGradient().toFloatArray();
            for (int i = 0; i < want.length; i++) {
                assertEquals(2 * want[i], got[i], 1e-6);
            }
        }
    }

    @Test
    void kernelsLargerThanOneByOneAreHeldInTheModesLayout() {
        MemoryFormat.Mode before = MemoryFormat.mode();
        try (NDManager m = NDManager.newBaseManager()) {
            MemoryFormat.setMode(MemoryFormat.Mode.CHANNELS_LAST);
            NDArray k3 = m.randomNormal(new Shape(8, 4, 3, 3));
            float[] values = k3.toFloatArray();
            NDArray held = MemoryFormat.kernel(k3);
            assertTrue(MemoryFormat.isChannelsLast(held));
            assertArrayEquals(values, held.toFloatArray());
            NDArray k1 = m.randomNormal(new Shape(8, 4, 1, 1));
            assertSame(k1, MemoryFormat.kernel(k1));

            MemoryFormat.setMode(MemoryFormat.Mode.CONTIGUOUS);
            NDArray plain = m.randomNormal(new Shape(8, 4, 3, 3));
            assertSame(plain, MemoryFormat.kernel(plain));
        } finally {
            MemoryFormat.setMode(before);
        }
    }

    @Test
    void modesParseByName() {
        assertEquals(MemoryFormat.Mode.CHANNELS_LAST, MemoryFormat.Mode.parse("channels-last"));
        assertEquals(MemoryFormat.Mode.CONTIGUOUS, MemoryFormat.Mode.parse(" Contiguous "));
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> MemoryFormat.Mode.parse("nhwc"));
        assertTrue(e.getMessage().contains("selectune.memory-format"), e.getMessage());
    }
}
