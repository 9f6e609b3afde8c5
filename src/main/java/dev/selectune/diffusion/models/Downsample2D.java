package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * diffusers' {@code Downsample2D} with a convolution ({@code conv}): a 3x3 conv with stride 2.
 *
 * <p>The UNet uses padding 1 ({@code downsample_padding}). The VAE uses padding 0, and then diffusers first pads
 * asymmetrically by one pixel on the right and bottom, as the original LDM code did; the {@code padding} argument
 * selects the same behaviour here.
 */
public final class Downsample2D {
    private final Conv2d conv;
    private final boolean asymmetricPad;

    private Downsample2D(Conv2d conv, boolean asymmetricPad) {
        this.conv = conv;
        this.asymmetricPad = asymmetricPad;
    }

    /**
     * @param padding 1 for the UNet; 0 for the VAE, meaning pad (0,1,0,1) then convolve without padding
     */
    public static Downsample2D load(Weights w, long in, long out, int padding) {
        return new Downsample2D(Conv2d.load(w.child("conv"), in, out, 3, 2, padding), padding == 0);
    }

    public NDArray forward(NDArray x) {
        if (!asymmetricPad) {
            return conv.forward(x);
        }
        return Scopes.run(() -> conv.forward(x.pad(new Shape(0, 1, 0, 1), 0)));
    }
}
