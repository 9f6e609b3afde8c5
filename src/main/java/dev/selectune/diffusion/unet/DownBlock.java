package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.models.Transformer2DModel;

import java.util.List;

/** A level of the UNet's down path ({@link CrossAttnDownBlock2D} or {@link DownBlock2D}). */
public interface DownBlock {
    /**
     * @return the states the up path will use as skips, in order: every resnet (or resnet+attention) output, then
     *         the downsampler's output if there is one. The last entry is the block's hidden output.
     */
    NDList forward(NDArray hidden, NDArray temb, NDArray context);

    /** The number of states {@link #forward} returns. */
    int outputCount();

    List<Transformer2DModel> attentions();
}
