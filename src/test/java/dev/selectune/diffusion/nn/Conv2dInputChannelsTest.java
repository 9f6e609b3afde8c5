package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The forward of a convolution in fp32 against the same in fp64 (which oneDNN does not run), without and with
 * gradients, for input widths around libtorch 2.7.1's oneDNN 16-channel block: on AVX-512 CPUs it computed 3x3
 * convolutions with 20, 24, 40, 56 or 72 input channels wrongly (the tiny SDXL golden case's 16 + 8 skip concat).
 */
class Conv2dInputChannelsTest {

    @ParameterizedTest(name = "in {0}, out {1}, {2}x{2} kernel, grad {3}")
    @CsvSource({"24, 16, 3, false", "20, 8, 3, false", "40, 16, 3, false", "72, 24, 3, false", "24, 4, 3, true",
            "40, 16, 3, true", "24, 16, 1, false", "16, 16, 3, false", "12, 8, 3, false", "48, 16, 3, false"})
    void forwardMatchesDoublePrecision(int in, int out, int kernel, boolean grad) {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(11);
            NDArray weight = m.randomNormal(0, (float) (1 / Math.sqrt(in * kernel * kernel)),
                    new Shape(out, in, kernel, kernel), DataType.FLOAT64);
            NDArray bias = m.randomNormal(0, 0.1f, new Shape(out), DataType.FLOAT64);
            NDArray x = m.randomNormal(0, 1, new Shape(2, in, 8, 12), DataType.FLOAT64);

            NDArray single = forward(weight, bias, x, DataType.FLOAT32, grad);
            NDArray reference = forward(weight, bias, x, DataType.FLOAT64, false);
            assertArrayEquals(reference.getShape().getShape(), single.getShape().getShape());
            double error = single.toType(DataType.FLOAT64, false).sub(reference).abs().max().getDouble();
            double scale = reference.abs().max().getDouble();
            assertTrue(error <= 1e-5 * scale, "max|fp32 - fp64| = " + error + " against max|y| " + scale);
        }
    }

    private static NDArray forward(NDArray weight, NDArray bias, NDArray x, DataType dtype, boolean grad) {
        int kernel = (int) weight.getShape().get(2);
        Conv2d conv = new Conv2d(weight.toType(dtype, true), bias.toType(dtype, true), 1, kernel / 2);
        NDArray input = x.toType(dtype, true);
        if (!grad) {
            return Autograd.noGrad(() -> conv.forward(input));
        }
        input.setRequiresGradient(true);
        return Autograd.withGrad(() -> conv.forward(input)).stopGradient();
    }
}
