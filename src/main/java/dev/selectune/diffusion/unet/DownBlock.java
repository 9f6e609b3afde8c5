package dev.selectune.diffusion.unet;

import dev.selectune.diffusion.models.Transformer2DModel;

import java.util.List;

/** A level of the UNet's down path ({@link CrossAttnDownBlock2D} or {@link DownBlock2D}). */
public interface DownBlock {
    /**
     * The block's segments under {@code path} ({@code down_blocks.i}): each saves, as a skip for the up path, every
     * resnet (or resnet+attention) output, then the downsampler's output if there is one.
     */
    List<UNetSegment> segments(String path);

    List<Transformer2DModel> attentions();
}
