package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.models.Upsample2D;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * diffusers' {@code UpDecoderBlock2D}: {@code layers_per_block + 1} resnets (the decoder has no skip connections,
 * the extra resnet is its historical layout), then (except at the last level) a nearest x2 upsampler.
 */
final class UpDecoderBlock2D {
    private final List<ResnetBlock2D> resnets;
    private final Upsample2D upsampler;

    private UpDecoderBlock2D(List<ResnetBlock2D> resnets, Upsample2D upsampler) {
        this.resnets = resnets;
        this.upsampler = upsampler;
    }

    static UpDecoderBlock2D load(Weights w, int numLayers, long in, long out, int groups, boolean addUpsample) {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), i == 0 ? in : out, out, 0, groups,
                    VaeConfig.NORM_EPS, 1f));
        }
        Upsample2D up = addUpsample ? Upsample2D.load(w.child("upsamplers").child(0), out, out) : null;
        return new UpDecoderBlock2D(resnets, up);
    }

    NDArray forward(NDArray x) {
        return Scopes.run(() -> {
            NDArray h = x;
            for (ResnetBlock2D resnet : resnets) {
                h = resnet.forward(h, null);
            }
            return upsampler != null ? upsampler.forward(h) : h;
        });
    }
}
