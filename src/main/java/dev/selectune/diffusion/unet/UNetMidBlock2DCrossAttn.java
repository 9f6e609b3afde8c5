package dev.selectune.diffusion.unet;

import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UNetMidBlock2DCrossAttn} with one layer: {@code resnets.0 -> attentions.0 -> resnets.1}, at the
 * deepest level's width and head count, with {@code mid_block_scale_factor} as the resnets' output scale.
 */
public final class UNetMidBlock2DCrossAttn {
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;

    private UNetMidBlock2DCrossAttn(List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions) {
        this.resnets = resnets;
        this.attentions = attentions;
    }

    static UNetMidBlock2DCrossAttn load(Weights w, UNetConfig c) {
        int last = c.levels() - 1;
        long channels = c.blockOutChannels()[last];
        int heads = c.numAttentionHeads()[last];
        // diffusers passes transformer_layers_per_block[-1] (an int) to the mid block.
        int layers = c.transformerLayersPerBlock()[last][0];
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        resnets.add(ResnetBlock2D.load(w.child("resnets").child(0), channels, channels, c.timeEmbedDim(),
                c.normNumGroups(), c.normEps(), c.midBlockScaleFactor()));
        attentions.add(Transformer2DModel.load(w.child("attentions").child(0), heads, channels / heads, channels,
                layers, c.crossAttentionDim()[last], c.normNumGroups(), c.useLinearProjection(), c.upcastAttention()));
        resnets.add(ResnetBlock2D.load(w.child("resnets").child(1), channels, channels, c.timeEmbedDim(),
                c.normNumGroups(), c.normEps(), c.midBlockScaleFactor()));
        return new UNetMidBlock2DCrossAttn(resnets, attentions);
    }

    /** {@code resnets.0}, then each transformer followed by the next resnet, under {@code path}. */
    public List<UNetSegment> segments(String path) {
        List<UNetSegment> out = new ArrayList<>();
        out.add(resnet(path, 0));
        for (int i = 0; i < attentions.size(); i++) {
            UNetSegment.addTransformer(out, path + ".attentions." + i, attentions.get(i), false);
            out.add(resnet(path, i + 1));
        }
        return out;
    }

    private UNetSegment resnet(String path, int i) {
        ResnetBlock2D resnet = resnets.get(i);
        return UNetSegment.of(path + ".resnets." + i, in -> resnet.forward(in.hidden(), in.temb()));
    }

    public List<Transformer2DModel> attentions() {
        return attentions;
    }
}
