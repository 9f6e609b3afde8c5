package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.models.Upsample2D;
import dev.selectune.diffusion.nn.Scopes;
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
    public NDArray forward(NDArray hidden, List<NDArray> skips, NDArray temb, NDArray context, long height,
                           long width) {
        return Scopes.run(() -> {
            NDArray h = hidden;
            for (int i = 0; i < resnets.size(); i++) {
                NDArray skip = skips.get(skips.size() - 1 - i);
                h = resnets.get(i).forward(NDArrays.concat(new NDList(h, skip), 1), temb);
            }
            return upsampler != null ? upsampler.forward(h, height, width) : h;
        });
    }

    @Override
    public int skipCount() {
        return resnets.size();
    }

    @Override
    public List<Transformer2DModel> attentions() {
        return List.of();
    }
}
