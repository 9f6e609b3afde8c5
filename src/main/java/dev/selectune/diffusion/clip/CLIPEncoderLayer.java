package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/**
 * {@code encoder.layers.N}: pre-LN transformer layer, x += attn(LN1(x)); x += mlp(LN2(x)). The text encoder runs it
 * with a causal mask, image towers without one; ViT's {@code ViTLayer} is the same layer under other key names
 * ({@code layernorm_before}, {@code attention}, {@code layernorm_after}, {@code intermediate}, {@code output}).
 */
public final class CLIPEncoderLayer {
    private final LayerNorm layerNorm1;
    private final CLIPAttention selfAttn;
    private final LayerNorm layerNorm2;
    private final CLIPMLP mlp;

    public CLIPEncoderLayer(LayerNorm layerNorm1, CLIPAttention selfAttn, LayerNorm layerNorm2, CLIPMLP mlp) {
        this.layerNorm1 = layerNorm1;
        this.selfAttn = selfAttn;
        this.layerNorm2 = layerNorm2;
        this.mlp = mlp;
    }

    /** A layer under CLIP's key names ({@code layer_norm1}, {@code self_attn}, {@code layer_norm2}, {@code mlp}). */
    public static CLIPEncoderLayer load(Weights w, EncoderLayerConfig config) {
        return new CLIPEncoderLayer(LayerNorm.load(w.child("layer_norm1"), config.hiddenSize(), config.layerNormEps()),
                CLIPAttention.load(w.child("self_attn"), config),
                LayerNorm.load(w.child("layer_norm2"), config.hiddenSize(), config.layerNormEps()),
                CLIPMLP.load(w.child("mlp"), config));
    }

    /**
     * @param x    (B, T, D)
     * @param mask (T, T) additive mask (the text encoder's causal one), or null for full attention
     */
    public NDArray forward(NDArray x, NDArray mask) {
        return Scopes.run(() -> {
            NDArray h = x.add(selfAttn.forward(layerNorm1.forward(x), mask));
            return h.add(mlp.forward(layerNorm2.forward(h)));
        });
    }
}
