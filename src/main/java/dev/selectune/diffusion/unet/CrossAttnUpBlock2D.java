package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.models.Upsample2D;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code CrossAttnUpBlock2D}: for each of {@code layers_per_block + 1} layers, concatenate the newest skip
 * to the hidden state, then a resnet and a transformer; then an optional nearest-x2 upsampler.
 */
public final class CrossAttnUpBlock2D implements UpBlock {
    private final List<ResnetBlock2D> resnets;
    private final List<Transformer2DModel> attentions;
    private final Upsample2D upsampler;

    private CrossAttnUpBlock2D(List<ResnetBlock2D> resnets, List<Transformer2DModel> attentions, Upsample2D upsampler) {
        this.resnets = resnets;
        this.attentions = attentions;
        this.upsampler = upsampler;
    }

    /**
     * @param upLevel index in execution order ({@code up_blocks.N})
     * @param in      channels of the deepest skip this block consumes (the next shallower level's width)
     * @param prev    channels of the hidden state coming in (the previous up block's width)
     */
    static CrossAttnUpBlock2D load(Weights w, UNetConfig c, int upLevel, long in, long out, long prev,
                                   boolean addUpsample) {
        int level = c.levels() - 1 - upLevel;
        int heads = c.numAttentionHeads()[level];
        int layers = c.layersPerBlock()[level] + 1;
        List<ResnetBlock2D> resnets = new ArrayList<>();
        List<Transformer2DModel> attentions = new ArrayList<>();
        for (int i = 0; i < layers; i++) {
            long skip = i == layers - 1 ? in : out;
            long resnetIn = i == 0 ? prev : out;
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), resnetIn + skip, out, c.timeEmbedDim(),
                    c.normNumGroups(), c.normEps(), c.resnetOutScaleFactor()));
            attentions.add(Transformer2DModel.load(w.child("attentions").child(i), heads, out / heads, out,
                    c.reverseTransformerLayersPerBlock()[upLevel][i], c.crossAttentionDim()[level],
                    c.normNumGroups(), c.useLinearProjection(), c.upcastAttention()));
        }
        Upsample2D up = addUpsample ? Upsample2D.load(w.child("upsamplers").child(0), out, out) : null;
        return new CrossAttnUpBlock2D(resnets, attentions, up);
    }

    @Override
    public List<UNetSegment> segments(String path) {
        List<UNetSegment> out = new ArrayList<>();
        for (int i = 0; i < resnets.size(); i++) {
            ResnetBlock2D resnet = resnets.get(i);
            out.add(UNetSegment.of(path + ".resnets." + i, in -> resnet.forward(
                    NDArrays.concat(new NDList(in.hidden(), in.saved()), 1), in.temb())).takingSaved());
            UNetSegment.addTransformer(out, path + ".attentions." + i, attentions.get(i), false);
        }
        if (upsampler != null) {
            out.add(UpBlock2D.upsampler(path, upsampler));
        }
        return out;
    }

    @Override
    public List<Transformer2DModel> attentions() {
        return attentions;
    }
}
