package dev.selectune.diffusion.vae;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.models.Attention;
import dev.selectune.diffusion.models.ResnetBlock2D;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * diffusers' {@code UNetMidBlock2D} as the VAE uses it (one layer, no time embedding):
 * {@code resnets.0 -> attentions.0 -> resnets.1}. The attention is spatial self-attention with one head over all
 * channels, its own {@code group_norm}, biases on every projection and a residual connection.
 */
final class UNetMidBlock2D {
    private final ResnetBlock2D first;
    private final Attention attention;
    private final ResnetBlock2D second;

    private UNetMidBlock2D(ResnetBlock2D first, Attention attention, ResnetBlock2D second) {
        this.first = first;
        this.attention = attention;
        this.second = second;
    }

    static UNetMidBlock2D load(Weights w, long channels, int groups, boolean addAttention) {
        ResnetBlock2D first = ResnetBlock2D.load(w.child("resnets").child(0), channels, channels, 0, groups,
                VaeConfig.NORM_EPS, 1f);
        Attention attention = addAttention
                ? Attention.loadSpatial(w.child("attentions").child(0), channels, groups, VaeConfig.NORM_EPS) : null;
        ResnetBlock2D second = ResnetBlock2D.load(w.child("resnets").child(1), channels, channels, 0, groups,
                VaeConfig.NORM_EPS, 1f);
        return new UNetMidBlock2D(first, attention, second);
    }

    NDArray forward(NDArray x) {
        return Scopes.run(() -> {
            NDArray h = first.forward(x, null);
            if (attention != null) {
                h = attention.forward(h, null);
            }
            return second.forward(h, null);
        });
    }
}
