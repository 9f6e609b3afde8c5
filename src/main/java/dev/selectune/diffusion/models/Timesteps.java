package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Scopes;

/**
 * diffusers' {@code Timesteps}: the sinusoidal embedding of (possibly fractional) timesteps, in float32 and with the
 * same operation order as diffusers ({@code exp(-ln(10000) * k / (half - shift))}, then {@code t * freq}), because
 * at t ~ 1000 a different rounding of the frequencies shows up in the sines.
 */
public final class Timesteps {
    private static final float LOG_MAX_PERIOD = (float) Math.log(10000);

    private final int numChannels;
    private final boolean flipSinToCos;
    private final float downscaleFreqShift;

    public Timesteps(int numChannels, boolean flipSinToCos, float downscaleFreqShift) {
        this.numChannels = numChannels;
        this.flipSinToCos = flipSinToCos;
        this.downscaleFreqShift = downscaleFreqShift;
    }

    /**
     * @param timesteps (B) of any numeric type
     * @return (B, num_channels) float32
     */
    public NDArray forward(NDArray timesteps) {
        return Scopes.run(() -> {
            int half = numChannels / 2;
            NDArray exponent = timesteps.getManager().arange(0, half, 1, DataType.FLOAT32)
                    .mul(-LOG_MAX_PERIOD).div(half - downscaleFreqShift);
            NDArray freqs = exponent.exp().expandDims(0);
            NDArray args = timesteps.toType(DataType.FLOAT32, false).expandDims(1).mul(freqs);
            NDArray sin = args.sin();
            NDArray cos = args.cos();
            NDArray emb = flipSinToCos ? NDArrays.concat(new ai.djl.ndarray.NDList(cos, sin), 1)
                    : NDArrays.concat(new ai.djl.ndarray.NDList(sin, cos), 1);
            if (numChannels % 2 == 1) {
                emb = emb.pad(new ai.djl.ndarray.types.Shape(0, 1), 0);
            }
            return emb;
        });
    }

    public int numChannels() {
        return numChannels;
    }
}
