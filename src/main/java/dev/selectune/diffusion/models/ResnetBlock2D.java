package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scalars;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * diffusers' {@code ResnetBlock2D} with {@code resnet_time_scale_shift="default"}:
 * {@code norm1 -> SiLU -> conv1 -> (+ time_emb_proj(SiLU(temb))) -> norm2 -> SiLU -> conv2}, plus the input
 * (through a 1x1 {@code conv_shortcut} when the channel count changes), divided by {@code output_scale_factor}.
 */
public final class ResnetBlock2D {
    private final GroupNorm norm1;
    private final Conv2d conv1;
    private final Linear timeEmbProj;
    private final GroupNorm norm2;
    private final Conv2d conv2;
    private final Conv2d convShortcut;
    private final float outputScaleFactor;

    private ResnetBlock2D(GroupNorm norm1, Conv2d conv1, Linear timeEmbProj, GroupNorm norm2, Conv2d conv2,
                          Conv2d convShortcut, float outputScaleFactor) {
        this.norm1 = norm1;
        this.conv1 = conv1;
        this.timeEmbProj = timeEmbProj;
        this.norm2 = norm2;
        this.conv2 = conv2;
        this.convShortcut = convShortcut;
        this.outputScaleFactor = outputScaleFactor;
    }

    /**
     * @param tembChannels width of the time embedding, or 0 for a block without one (the VAE's)
     */
    public static ResnetBlock2D load(Weights w, long in, long out, long tembChannels, int groups, float eps,
                                     float outputScaleFactor) {
        GroupNorm norm1 = GroupNorm.load(w.child("norm1"), groups, in, eps);
        Conv2d conv1 = Conv2d.load(w.child("conv1"), in, out, 3, 1, 1);
        Linear timeEmbProj = tembChannels > 0 ? Linear.load(w.child("time_emb_proj"), tembChannels, out, true) : null;
        GroupNorm norm2 = GroupNorm.load(w.child("norm2"), groups, out, eps);
        Conv2d conv2 = Conv2d.load(w.child("conv2"), out, out, 3, 1, 1);
        Conv2d shortcut = in != out ? Conv2d.load(w.child("conv_shortcut"), in, out, 1, 1, 0) : null;
        return new ResnetBlock2D(norm1, conv1, timeEmbProj, norm2, conv2, shortcut, outputScaleFactor);
    }

    /**
     * @param x    (B, in, H, W)
     * @param temb (B, temb_channels) before the SiLU, or null for a block without time embedding
     */
    public NDArray forward(NDArray x, NDArray temb) {
        return Scopes.run(() -> {
            NDArray h = conv1.forward(norm1.forwardSilu(x));
            if (timeEmbProj != null) {
                NDArray t = timeEmbProj.forward(Activations.silu(temb));
                h = h.add(t.reshape(t.getShape().get(0), t.getShape().get(1), 1, 1));
            }
            h = conv2.forward(norm2.forwardSilu(h));
            NDArray shortcut = convShortcut != null ? convShortcut.forward(x) : x;
            NDArray out = shortcut.add(h);
            return outputScaleFactor == 1f ? out : Scalars.div(out, outputScaleFactor);
        });
    }
}
