package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;

/** The feed-forward of an image-tower layer: fc2(act(fc1(x))), CLIP's {@code mlp} or ViT's intermediate/output. */
public final class VisionMLP {
    private final Linear fc1;
    private final Linear fc2;
    private final String activation;

    public VisionMLP(Linear fc1, Linear fc2, String activation) {
        this.fc1 = fc1;
        this.fc2 = fc2;
        this.activation = activation;
    }

    public NDArray forward(NDArray x) {
        return Scopes.run(() -> fc2.forward(Activations.byName(activation, fc1.forward(x))));
    }
}
