package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' VAE {@code Encoder}: {@code conv_in -> down_blocks -> mid_block -> conv_norm_out -> SiLU -> conv_out},
 * producing {@code 2 * latent_channels} moments (mean and log-variance, {@code double_z}).
 */
final class Encoder {
    private final Conv2d convIn;
    private final List<DownEncoderBlock2D> downBlocks;
    private final UNetMidBlock2D midBlock;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;

    private Encoder(Conv2d convIn, List<DownEncoderBlock2D> downBlocks, UNetMidBlock2D midBlock, GroupNorm convNormOut,
                    Conv2d convOut) {
        this.convIn = convIn;
        this.downBlocks = downBlocks;
        this.midBlock = midBlock;
        this.convNormOut = convNormOut;
        this.convOut = convOut;
    }

    static Encoder load(Weights w, VaeConfig c) {
        List<Integer> channels = c.blockOutChannels();
        int groups = c.normNumGroups();
        Conv2d convIn = Conv2d.load(w.child("conv_in"), c.inChannels(), channels.get(0), 3, 1, 1);
        List<DownEncoderBlock2D> down = new ArrayList<>();
        long out = channels.get(0);
        for (int i = 0; i < channels.size(); i++) {
            long in = out;
            out = channels.get(i);
            boolean last = i == channels.size() - 1;
            down.add(DownEncoderBlock2D.load(w.child("down_blocks").child(i), c.layersPerBlock(), in, out, groups, !last));
        }
        long top = channels.get(channels.size() - 1);
        UNetMidBlock2D mid = UNetMidBlock2D.load(w.child("mid_block"), top, groups, c.midBlockAddAttention());
        GroupNorm norm = GroupNorm.load(w.child("conv_norm_out"), groups, top, VaeConfig.NORM_EPS);
        Conv2d convOut = Conv2d.load(w.child("conv_out"), top, 2L * c.latentChannels(), 3, 1, 1);
        return new Encoder(convIn, down, mid, norm, convOut);
    }

    /** (B, in_channels, H, W) -> moments (B, 2 * latent_channels, H / f, W / f). */
    NDArray forward(NDArray image) {
        return Scopes.run(() -> {
            NDArray h = convIn.forward(image);
            for (DownEncoderBlock2D block : downBlocks) {
                h = block.forward(h);
            }
            h = midBlock.forward(h);
            return convOut.forward(convNormOut.forwardSilu(h));
        });
    }
}
