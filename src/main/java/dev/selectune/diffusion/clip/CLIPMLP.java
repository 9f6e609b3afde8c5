package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/** {@code mlp}: fc1 -> hidden_act (quick_gelu for OpenAI CLIP, exact gelu for OpenCLIP and ViT) -> fc2. */
public final class CLIPMLP {
    private final Linear fc1;
    private final Linear fc2;
    private final String activation;

    public CLIPMLP(Linear fc1, Linear fc2, String activation) {
        this.fc1 = fc1;
        this.fc2 = fc2;
        this.activation = activation;
    }

    public static CLIPMLP load(Weights w, EncoderLayerConfig config) {
        return new CLIPMLP(Linear.load(w.child("fc1"), config.hiddenSize(), config.intermediateSize(), true),
                Linear.load(w.child("fc2"), config.intermediateSize(), config.hiddenSize(), true), config.hiddenAct());
    }

    public NDArray forward(NDArray x) {
        return Scopes.run(() -> fc2.forward(Activations.byName(activation, fc1.forward(x))));
    }
}
