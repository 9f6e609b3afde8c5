package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.models.Downsample2D;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/** diffusers' {@code DownEncoderBlock2D}: resnets without time embedding, then (except at the last level) a downsampler. */
final class DownEncoderBlock2D {
    private final List<ResnetBlock2D> resnets;
    private final Downsample2D downsampler;

    private DownEncoderBlock2D(List<ResnetBlock2D> resnets, Downsample2D downsampler) {
        this.resnets = resnets;
        this.downsampler = downsampler;
    }

    static DownEncoderBlock2D load(Weights w, int numLayers, long in, long out, int groups, boolean addDownsample) {
        List<ResnetBlock2D> resnets = new ArrayList<>();
        for (int i = 0; i < numLayers; i++) {
            resnets.add(ResnetBlock2D.load(w.child("resnets").child(i), i == 0 ? in : out, out, 0, groups,
                    VaeConfig.NORM_EPS, 1f));
        }
        // The VAE's downsampler uses padding 0: pad right/bottom by one, then a stride-2 conv (LDM's layout).
        Downsample2D down = addDownsample ? Downsample2D.load(w.child("downsamplers").child(0), out, out, 0) : null;
        return new DownEncoderBlock2D(resnets, down);
    }

    NDArray forward(NDArray x) {
        return Scopes.run(() -> {
            NDArray h = x;
            for (ResnetBlock2D resnet : resnets) {
                h = resnet.forward(h, null);
            }
            return downsampler != null ? downsampler.forward(h) : h;
        });
    }
}
