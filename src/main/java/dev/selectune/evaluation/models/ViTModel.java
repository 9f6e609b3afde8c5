package dev.selectune.evaluation.models;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.clip.CLIPAttention;
import dev.selectune.diffusion.clip.CLIPEncoderLayer;
import dev.selectune.diffusion.clip.CLIPMLP;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.io.JsonFields;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * transformers' {@code ViTModel} without a pooler, the DINO encoder (facebook/dino-vits16 and the like): embeddings,
 * {@code encoder.layer.N}, the final {@code layernorm}. The DINO embedding is the CLS row of the last hidden state,
 * after that layernorm, which is what the original DINO model's forward returns.
 *
 * <p>Keys are read without a prefix, or under {@code vit.} when the checkpoint was saved from a model with a head;
 * a {@code pooler.dense} in the checkpoint is read (so every key is accounted for) and not used.
 */
public final class ViTModel implements AutoCloseable {
    private final VisionConfig config;
    private final PatchEmbeddings embeddings;
    private final List<CLIPEncoderLayer> layers;
    private final LayerNorm layerNorm;
    private final NDManager manager;

    private ViTModel(VisionConfig config, PatchEmbeddings embeddings, List<CLIPEncoderLayer> layers,
                     LayerNorm layerNorm, NDManager manager) {
        this.config = config;
        this.embeddings = embeddings;
        this.layers = layers;
        this.layerNorm = layerNorm;
        this.manager = manager;
    }

    /** Loads {@code config.json} and {@code model[.fp16].safetensors} (or its shards) from a Hugging Face folder. */
    public static ViTModel load(Path dir, Device device) {
        JsonFields json = JsonFields.read(dir.resolve("config.json"));
        String type = json.stringField("model_type", "vit");
        if (!type.equals("vit") && !type.equals("dino")) {
            throw json.error("model_type", "is '" + type + "'; a DINO encoder folder holds a ViTModel (model_type vit)");
        }
        VisionConfig config = VisionConfig.vit(json);
        NDManager manager = NDManager.newBaseManager(device);
        try (Weights w = Weights.open(dir, "model", manager, DataType.FLOAT32)) {
            return load(config, w, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public static ViTModel load(VisionConfig c, Weights weights, NDManager manager) {
        Weights w = weights.has("embeddings.cls_token") || weights.isRandom() ? weights : weights.child("vit");
        PatchEmbeddings embeddings = PatchEmbeddings.loadVit(w.child("embeddings"), c);
        List<CLIPEncoderLayer> layers = new ArrayList<>();
        for (int i = 0; i < c.numHiddenLayers(); i++) {
            layers.add(layer(w.child("encoder").child("layer").child(i), c));
        }
        LayerNorm norm = LayerNorm.load(w.child("layernorm"), c.hiddenSize(), c.layerNormEps());
        if (!weights.isRandom() && w.has("pooler.dense.weight")) {
            w.get("pooler.dense.weight", c.hiddenSize(), c.hiddenSize()).close();
            w.get("pooler.dense.bias", c.hiddenSize()).close();
        }
        try {
            weights.requireAllUsed();
        } catch (WeightsException e) {
            throw new EvaluationException(e.getMessage() + " (a DINO folder should hold a ViTModel)", e);
        }
        return new ViTModel(c, embeddings, layers, norm, manager);
    }

    /**
     * transformers' {@code ViTLayer}: CLIP's encoder layer under ViT's key names ({@code layernorm_before},
     * {@code attention.attention.query/key/value}, {@code attention.output.dense}, {@code layernorm_after},
     * {@code intermediate.dense}, {@code output.dense}).
     */
    private static CLIPEncoderLayer layer(Weights w, VisionConfig c) {
        long d = c.hiddenSize();
        LayerNorm before = LayerNorm.load(w.child("layernorm_before"), d, c.layerNormEps());
        Weights self = w.child("attention").child("attention");
        CLIPAttention attention = new CLIPAttention(Linear.load(self.child("query"), d, d, c.qkvBias()),
                Linear.load(self.child("key"), d, d, c.qkvBias()), Linear.load(self.child("value"), d, d, c.qkvBias()),
                Linear.load(w.child("attention").child("output").child("dense"), d, d, true), c.numAttentionHeads(),
                c.headDim());
        LayerNorm after = LayerNorm.load(w.child("layernorm_after"), d, c.layerNormEps());
        CLIPMLP mlp = new CLIPMLP(Linear.load(w.child("intermediate").child("dense"), d, c.intermediateSize(), true),
                Linear.load(w.child("output").child("dense"), c.intermediateSize(), d, true), c.hiddenAct());
        return new CLIPEncoderLayer(before, attention, after, mlp);
    }

    public VisionConfig config() {
        return config;
    }

    public NDManager manager() {
        return manager;
    }

    /** last_hidden_state (after the final layernorm), its CLS row as pooled output, and the hidden states if asked. */
    public VisionOutput forward(NDArray pixelValues, boolean outputHiddenStates) {
        NDList out = Autograd.noGrad(() -> Scopes.runList(() -> {
            NDArray x = embeddings.forward(pixelValues);
            NDList hidden = new NDList(x);
            for (CLIPEncoderLayer layer : layers) {
                x = layer.forward(x, null);
                hidden.add(x);
            }
            NDArray last = layerNorm.forward(x);
            NDList result = new NDList(last, last.get(":, 0, :"));
            if (outputHiddenStates) {
                result.addAll(hidden);
            }
            return result;
        }));
        return new VisionOutput(out.get(0), out.get(1), new ArrayList<>(out.subNDList(2)));
    }

    /** The DINO embedding (B, D): the CLS token after the final layernorm, not normalised. */
    public NDArray clsEmbedding(NDArray pixelValues) {
        try (VisionOutput out = forward(pixelValues, false)) {
            NDArray cls = out.pooledOutput().duplicate();
            return cls;
        }
    }

    @Override
    public void close() {
        manager.close();
    }
}
