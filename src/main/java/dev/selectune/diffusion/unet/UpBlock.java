package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.models.Transformer2DModel;

import java.util.List;

/** A level of the UNet's up path ({@link CrossAttnUpBlock2D} or {@link UpBlock2D}). */
public interface UpBlock {
    /**
     * @param skips  the skip states this block consumes, in the order the down path produced them; the block
     *               concatenates them last-first, one per resnet, as {@code cat([hidden, skip], dim=1)}
     * @param height the upsampler's output size (that of the next skip), or 0 for twice the input
     */
    NDArray forward(NDArray hidden, List<NDArray> skips, NDArray temb, NDArray context, long height, long width);

    /** The number of skip states this block consumes ({@code layers_per_block + 1}). */
    int skipCount();

    List<Transformer2DModel> attentions();
}
