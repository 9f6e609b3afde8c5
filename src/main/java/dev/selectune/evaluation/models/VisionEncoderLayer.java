package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * One pre-LN transformer layer of an image tower: x += attn(norm1(x)); x += mlp(norm2(x)). CLIP's
 * {@code CLIPEncoderLayer} ({@code layer_norm1}, {@code self_attn}, {@code layer_norm2}, {@code mlp.fc1/fc2}) and
 * ViT's {@code ViTLayer} ({@code layernorm_before}, {@code attention}, {@code layernorm_after},
 * {@code intermediate.dense}, {@code output.dense}) compute the same thing.
 */
public final class VisionEncoderLayer {
    private final LayerNorm norm1;
    private final SelfAttention attention;
    private final LayerNorm norm2;
    private final VisionMLP mlp;

    private VisionEncoderLayer(LayerNorm norm1, SelfAttention attention, LayerNorm norm2, VisionMLP mlp) {
        this.norm1 = norm1;
        this.attention = attention;
        this.norm2 = norm2;
        this.mlp = mlp;
    }

    public static VisionEncoderLayer loadClip(Weights w, VisionConfig c) {
        return new VisionEncoderLayer(LayerNorm.load(w.child("layer_norm1"), c.hiddenSize(), c.layerNormEps()),
                SelfAttention.loadClip(w.child("self_attn"), c),
                LayerNorm.load(w.child("layer_norm2"), c.hiddenSize(), c.layerNormEps()),
                new VisionMLP(Linear.load(w.child("mlp").child("fc1"), c.hiddenSize(), c.intermediateSize(), true),
                        Linear.load(w.child("mlp").child("fc2"), c.intermediateSize(), c.hiddenSize(), true),
                        c.hiddenAct()));
    }

    public static VisionEncoderLayer loadVit(Weights w, VisionConfig c) {
        return new VisionEncoderLayer(LayerNorm.load(w.child("layernorm_before"), c.hiddenSize(), c.layerNormEps()),
                SelfAttention.loadVit(w.child("attention"), c),
                LayerNorm.load(w.child("layernorm_after"), c.hiddenSize(), c.layerNormEps()),
                new VisionMLP(Linear.load(w.child("intermediate").child("dense"), c.hiddenSize(), c.intermediateSize(), true),
                        Linear.load(w.child("output").child("dense"), c.intermediateSize(), c.hiddenSize(), true),
                        c.hiddenAct()));
    }

    public NDArray forward(NDArray x) {
        return Scopes.run(() -> {
            NDArray h = x.add(attention.forward(norm1.forward(x)));
            return h.add(mlp.forward(norm2.forward(h)));
        });
    }
}
