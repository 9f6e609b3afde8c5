package dev.selectune.diffusion.unet;

import dev.selectune.diffusion.models.Downsample2D;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/** diffusers' {@code CrossAttnDownBlock2D}: (resnet, transformer) pairs, then an optional stride-2 downsampler. */
public final class CrossAttnDownBlock2D implements DownBlock {
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;
    private final Downsample2D downsampler;

    private CrossAttnDownBlock2D(List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions,
                                 Downsample2D downsampler) {
        this.resnets = resnets;
        this.attentions = attentions;
        this.downsampler = downsampler;
    }

    static CrossAttnDownBlock2D load(Weights w, UNetConfig c, int level, long in, long out, boolean addDownsample) {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        int heads = c.numAttentionHeads()[level];
        for (int i = 0; i < c.layersPerBlock()[level]; i++) {
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), i == 0 ? in : out, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor()));
            attentions.add(Transformer2DModel.load(w.child("attentions").child(i), heads, out / heads, out,
                    c.transformerLayersPerBlock()[level][i], c.crossAttentionDim()[level], c.normNumGroups(),
                    c.useLinearProjection(), c.upcastAttention()));
        }
        Downsample2D down = addDownsample
                ? Downsample2D.load(w.child("downsamplers").child(0), out, out, c.downsamplePadding()) : null;
        return new CrossAttnDownBlock2D(resnets, attentions, down);
    }

    @Override
    public List<UNetSegment> segments(String path) {
        List<UNetSegment> out = new ArrayList<>();
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            out.add(UNetSegment.of(path + ".resnets." + i, in -> resnet.forward(in.hidden(), in.temb())));
            UNetSegment.addTransformer(out, path + ".attentions." + i, attentions.get(i), true);
        }
        if (downsampler != null) {
            out.add(UNetSegment.of(path + ".downsamplers.0", in -> downsampler.forward(in.hidden())).savingOutput());
        }
        return out;
    }

    @Override
    public List<Transformer2DModel> attentions() {
        return attentions;
    }
}
