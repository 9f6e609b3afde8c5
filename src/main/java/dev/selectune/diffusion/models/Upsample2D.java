package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.MemoryFormat;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/** diffusers' {@code Upsample2D} with a convolution: nearest-neighbour x2, then a 3x3 {@code conv}. */
public final class Upsample2D {
    private final Conv2d conv;

    private Upsample2D(Conv2d conv) {
        this.conv = conv;
    }

    public static Upsample2D load(Weights w, long in, long out) {
        return new Upsample2D(Conv2d.load(w.child("conv"), in, out, 3, 1, 1));
    }

    public NDArray forward(NDArray x) {
        return forward(x, 0, 0);
    }

    /**
     * @param height output rows the UNet asks for when a level's input had an odd size (0 = twice the input);
     *               nearest interpolation to 2n-1 picks the same source pixels as x2 then cropping
     * @param width  output columns, likewise
     */
    public NDArray forward(NDArray x, long height, long width) {
        return Scopes.run(() -> conv.forward(nearest2x(x, height, width)));
    }

    /** Nearest x2 as a broadcast view plus one copy, so no interpolation kernel or index tensor is needed. */
    static NDArray nearest2x(NDArray x, long height, long width) {
        Shape s = x.getShape();
        long b = s.get(0);
        long c = s.get(1);
        long h = s.get(2);
        long w = s.get(3);
        // The one copy is made in the layout the convolutions run in (for channels-last the transposes are views).
        NDArray up = MemoryFormat.mode() == MemoryFormat.Mode.CHANNELS_LAST
                ? x.transpose(0, 2, 3, 1).reshape(b, h, 1, w, 1, c).broadcast(b, h, 2, w, 2, c)
                        .reshape(b, 2 * h, 2 * w, c).transpose(0, 3, 1, 2)
                : x.reshape(b, c, h, 1, w, 1).broadcast(b, c, h, 2, w, 2).reshape(b, c, 2 * h, 2 * w);
        if ((height == 0 || height == 2 * h) && (width == 0 || width == 2 * w)) {
            return up;
        }
        return up.get(new NDIndex(":, :, :{}, :{}", height == 0 ? 2 * h : height, width == 0 ? 2 * w : width));
    }
}
