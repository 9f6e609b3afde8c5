package dev.selectune.diffusion.unet;

import dev.selectune.diffusion.models.Downsample2D;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/** diffusers' {@code DownBlock2D}: resnets only, then an optional stride-2 downsampler. */
public final class DownBlock2D implements DownBlock {
    private final List<ResnetBlock2D> resnets;
    private final Downsample2D downsampler;

    private DownBlock2D(List<ResnetBlock2D> resnets, Downsample2D downsampler) {
        this.resnets = resnets;
        this.downsampler = downsampler;
    }

    static DownBlock2D load(Weights w, UNetConfig c, int level, long in, long out, boolean addDownsample) {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < c.layersPerBlock()[level]; i++) {
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), i == 0 ? in : out, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor()));
        }
        Downsample2D down = addDownsample
                ? Downsample2D.load(w.child("downsamplers").child(0), out, out, c.downsamplePadding()) : null;
        return new DownBlock2D(resnets, down);
    }

    @Override
    public List<UNetSegment> segments(String path) {
        List<UNetSegment> out = new ArrayList<>();
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            out.add(UNetSegment.of(path + ".resnets." + i, in -> resnet.forward(in.hidden(), in.temb())).savingOutput());
        }
        if (downsampler != null) {
            out.add(UNetSegment.of(path + ".downsamplers.0", in -> downsampler.forward(in.hidden())).savingOutput());
        }
        return out;
    }

    @Override
    public List<Transformer2DModel> attentions() {
        return List.of();
    }
}
