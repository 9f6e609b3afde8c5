package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.models.Upsample2D;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/** diffusers' {@code UpBlock2D}: {@code layers_per_block + 1} resnets over concatenated skips, optional upsampler. */
public final class UpBlock2D implements UpBlock {
    private final List<ResnetBlock2D> resnets;
    private final Upsample2D upsampler;

    private UpBlock2D(List<ResnetBlock2D> resnets, Upsample2D upsampler) {
        this.resnets = resnets;
        this.upsampler = upsampler;
    }

    /** Arguments as {@link CrossAttnUpBlock2D#load}. */
    static UpBlock2D load(Weights w, UNetConfig c, int upLevel, long in, long out, long prev, boolean addUpsample) {
        int level = c.levels() - 1 - upLevel;
        int layers = c.layersPerBlock()[level] + 1;
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            long skip = i == layers - 1 ? in : out;
            long resnetIn = i == 0 ? prev : out;
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), resnetIn + skip, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor()));
        }
        Upsample2D up = addUpsample ? Upsample2D.load(w.child("upsamplers").child(0), out, out) : null;
        return new UpBlock2D(resnets, up);
    }

    @Override
    public List<UNetSegment> segments(String path) {
        List<UNetSegment> out = new ArrayList<>();
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            out.add(UNetSegment.of(path + ".resnets." + i, in -> resnet.forward(
                    NDArrays.concat(new NDList(in.hidden(), in.saved()), 1), in.temb())).takingSaved());
        }
        if (upsampler != null) {
            out.add(upsampler(path, upsampler));
        }
        return out;
    }

    /** An up block's upsampler, to the size of the skip the next block takes first (twice the input if none). */
    static UNetSegment upsampler(String path, Upsample2D upsampler) {
        return UNetSegment.of(path + ".upsamplers.0", in -> upsampler.forward(in.hidden(),
                in.next() == null ? 0 : in.next().get(2), in.next() == null ? 0 : in.next().get(3)));
    }

    @Override
    public List<Transformer2DModel> attentions() {
        return List.of();
    }
}
