package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Decoder}: {@code conv_in -> mid_block -> up_blocks -> conv_norm_out -> SiLU -> conv_out}.
 * The up blocks walk {@code block_out_channels} in reverse, each with {@code layers_per_block + 1} resnets.
 */
final class Decoder {
    private final Conv2d convIn;
    private final UNetMidBlock2D midBlock;
    private final List<UpDecoderBlock2D> upBlocks;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    private Decoder(Conv2d convIn, UNetMidBlock2D midBlock, List<UpDecoderBlock2D> upBlocks, GroupNorm convNormOut,
                    Conv2d convOut) {
        this.convIn = convIn;
        this.midBlock = midBlock;
        this.upBlocks = upBlocks;
        this.convNormOut = convNormOut;
        this.convOut = convOut;
    }

    static Decoder load(Weights w, VaeConfig c) {
        List<Integer> channels = c.blockOutChannels();
        int levels = channels.size();
        int groups = c.normNumGroups();
        long top = channels.get(levels - 1);
        Conv2d convIn = Conv2d.load(w.child("conv_in"), c.latentChannels(), top, 3, 1, 1);
        UNetMidBlock2D mid = UNetMidBlock2D.load(w.child("mid_block"), top, groups, c.midBlockAddAttention());
        List<UpDecoderBlock2D> up = new ArrayList<>();
        long out = top;
        for (int i = 0; i < levels; i++) {
            long in = out;
            out = channels.get(levels - 1 - i);
            boolean last = i == levels - 1;
            up.add(UpDecoderBlock2D.load(w.child("up_blocks").child(i), c.layersPerBlock() + 1, in, out, groups, !last));
        }
        long bottom = channels.get(0);
        GroupNorm norm = GroupNorm.load(w.child("conv_norm_out"), groups, bottom, VaeConfig.NORM_EPS);
        Conv2d convOut = Conv2d.load(w.child("conv_out"), bottom, c.outChannels(), 3, 1, 1);
        return new Decoder(convIn, mid, up, norm, convOut);
    }

    /** (B, latent_channels, h, w) -> (B, out_channels, h * f, w * f), unclamped. */
    NDArray forward(NDArray latent) {
        return Scopes.run(() -> {
            NDArray h = midBlock.forward(convIn.forward(latent));
            for (UpDecoderBlock2D block : upBlocks) {
                h = block.forward(h);
            }
            return convOut.forward(convNormOut.forwardSilu(h));
        });
    }
}
