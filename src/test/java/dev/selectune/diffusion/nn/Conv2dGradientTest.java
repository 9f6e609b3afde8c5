package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The input gradient of a convolution in fp32 against the same in fp64 (which oneDNN does not run), for the shapes
 * that libtorch 2.7.1's oneDNN got wrong on AVX-512 CPUs: output channels that are not a multiple of 16.
 */
class Conv2dGradientTest {

    @ParameterizedTest(name = "in {0}, out {1}, {2}x{2} px, batch {3}")
    @CsvSource({"320, 4, 32, 1", "320, 4, 8, 2", "32, 4, 8, 2", "32, 3, 8, 2", "32, 24, 8, 2", "32, 16, 8, 2",
            "64, 64, 8, 2"})
    void inputGradientMatchesDoublePrecision(int in, int out, int size, int batch) {
        try (NDManager m = NDManager.newBaseManager()) {
            m.getEngine().setRandomSeed(7);
            NDArray weight = m.randomNormal(0, 0.1f, new Shape(out, in, 3, 3), DataType.FLOAT64);
            NDArray bias = m.randomNormal(0, 0.1f, new Shape(out), DataType.FLOAT64);
            NDArray x = m.randomNormal(0, 1, new Shape(batch, in, size, size), DataType.FLOAT64);
            NDArray upstream = m.randomNormal(0, 1, new Shape(batch, out, size, size), DataType.FLOAT64);

            NDArray single = inputGradient(weight, bias, x, upstream, DataType.FLOAT32);
            NDArray reference = inputGradient(weight, bias, x, upstream, DataType.FLOAT64);
            double error = single.toType(DataType.FLOAT64, false).sub(reference).abs().max().getDouble();
            double scale = reference.abs().max().getDouble();
            assertTrue(error <= 1e-5 * scale, "max|fp32 - fp64| = " + error + " against max|grad| " + scale);
        }
    }

    private static NDArray inputGradient(NDArray weight, NDArray bias, NDArray x, NDArray upstream, DataType dtype) {
        Conv2d conv = new Conv2d(weight.toType(dtype, true), bias.toType(dtype, true), 1, 1);
        NDArray input = x.toType(dtype, true);
        input.setRequiresGradient(true);
        Autograd.withGrad(() -> {
            NDArray loss = conv.forward(input).mul(upstream.toType(dtype, true)).sum();
            Autograd.backward(loss);
            return loss;
        });
        return input.getGradient();
    }
}
