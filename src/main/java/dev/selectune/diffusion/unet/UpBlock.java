package dev.selectune.diffusion.unet;

import dev.selectune.diffusion.models.Transformer2DModel;

import java.util.List;

/** A level of the UNet's up path ({@link CrossAttnUpBlock2D} or {@link UpBlock2D}). */
public interface UpBlock {
    /**
     * The block's segments under {@code path} ({@code up_blocks.i}): each resnet takes the newest skip and runs on
     * {@code cat([hidden, skip], dim=1)}; the upsampler, if any, targets the size of the skip left on top (as
     * diffusers' {@code upsample_size}).
     */
    List<UNetSegment> segments(String path);

    List<Transformer2DModel> attentions();
}
