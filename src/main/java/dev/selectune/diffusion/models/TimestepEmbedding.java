package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/** diffusers' {@code TimestepEmbedding}: {@code linear_1 -> act -> linear_2} (no condition projection, no post-act). */
public final class TimestepEmbedding {
    private final Linear linear1;
    private final Linear linear2;
    private final String act;

    private TimestepEmbedding(Linear linear1, Linear linear2, String act) {
        this.linear1 = linear1;
        this.linear2 = linear2;
        this.act = act;
    }

    public static TimestepEmbedding load(Weights w, long in, long timeEmbedDim, String act) {
        Activations.requireKnown(w.key("act_fn"), act);
        return new TimestepEmbedding(Linear.load(w.child("linear_1"), in, timeEmbedDim, true),
                Linear.load(w.child("linear_2"), timeEmbedDim, timeEmbedDim, true), act);
    }

    public NDArray forward(NDArray x) {
        return Scopes.run(() -> linear2.forward(Activations.byName(act, linear1.forward(x))));
    }
}
