package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import dev.selectune.diffusion.clip.CLIPEncoderLayer;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code CLIPVisionTransformer} ({@code vision_model}): embeddings, {@code pre_layrnorm} (sic), the
 * encoder layers, and {@code post_layernorm} on the class token as the pooled output.
 */
public final class CLIPVisionTransformer {
    private final VisionConfig config;
    private final PatchEmbeddings embeddings;
    private final LayerNorm preLayerNorm;
    private final List<CLIPEncoderLayer> layers;
    private final LayerNorm postLayerNorm;

    private CLIPVisionTransformer(VisionConfig config, PatchEmbeddings embeddings, LayerNorm preLayerNorm,
                                  List<CLIPEncoderLayer> layers, LayerNorm postLayerNorm) {
        this.config = config;
        this.embeddings = embeddings;
        this.preLayerNorm = preLayerNorm;
        this.layers = layers;
        this.postLayerNorm = postLayerNorm;
    }

    public static CLIPVisionTransformer load(Weights w, VisionConfig c) {
        PatchEmbeddings embeddings = PatchEmbeddings.loadClip(w.child("embeddings"), c);
        LayerNorm pre = LayerNorm.load(w.child("pre_layrnorm"), c.hiddenSize(), c.layerNormEps());
        List<CLIPEncoderLayer> layers = new ArrayList<>();
        Weights encoder = w.child("encoder").child("layers");
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(CLIPEncoderLayer.load(encoder.child(i), c));
        }
        LayerNorm post = LayerNorm.load(w.child("post_layernorm"), c.hiddenSize(), c.layerNormEps());
        return new CLIPVisionTransformer(c, embeddings, pre, layers, post);
    }

    public VisionConfig config() {
        return config;
    }

    public VisionOutput forward(NDArray pixelValues, boolean outputHiddenStates) {
        NDList out = Scopes.runList(() -> {
            NDArray x = preLayerNorm.forward(embeddings.forward(pixelValues));
            NDList hidden = new NDList(x);
            for (CLIPEncoderLayer layer : layers) {
                x = layer.forward(x, null);
                hidden.add(x);
            }
            NDArray pooled = postLayerNorm.forward(x.get(":, 0, :"));
            NDList result = new NDList(x, pooled);
            if (outputHiddenStates) {
                result.addAll(hidden.subNDList(0, hidden.size() - 1));
                result.add(x.duplicate()); // hidden_states[-1] is last_hidden_state; its own copy so each closes once
            }
            return result;
        });
        return new VisionOutput(out.get(0), out.get(1), new ArrayList<>(out.subNDList(2)));
    }
}
