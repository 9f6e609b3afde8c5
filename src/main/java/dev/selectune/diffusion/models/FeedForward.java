package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * diffusers' {@code FeedForward} with the GEGLU activation (the UNet default): {@code net.0.proj} maps C to 2*inner,
 * split into [hidden, gate] in that order, {@code hidden * gelu(gate)} with the exact erf gelu, then {@code net.2}
 * maps inner back to C ({@code net.1} is dropout).
 */
public final class FeedForward {
    private final Linear proj;
    private final Linear out;

    private FeedForward(Linear proj, Linear out) {
        this.proj = proj;
        this.out = out;
    }

    /** @param mult inner width as a multiple of {@code dim} (4 in every Stable Diffusion UNet) */
    public static FeedForward load(Weights w, long dim, int mult) {
        long inner = dim * mult;
        return new FeedForward(Linear.load(w.child("net").child(0).child("proj"), dim, inner * 2, true),
                Linear.load(w.child("net").child(2), inner, dim, true));
    }

    public NDArray forward(NDArray x) {
        return Scopes.run(() -> {
            NDArray projected = proj.forward(x);
            NDList halves = projected.split(2, projected.getShape().dimension() - 1);
            NDArray gated = halves.get(0).mul(Activations.gelu(halves.get(1)));
            return out.forward(gated);
        });
    }
}
