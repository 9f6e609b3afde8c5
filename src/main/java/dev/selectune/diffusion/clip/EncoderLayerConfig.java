package dev.selectune.diffusion.clip;

/**
 * The sizes a {@link CLIPEncoderLayer} is built from; CLIP's text and vision configs and ViT's config all have them
 * under the same names.
 */
public interface EncoderLayerConfig {
    int hiddenSize();

    int intermediateSize();

    int numAttentionHeads();

    /** hidden_size / num_attention_heads. */
    int headDim();

    /** The MLP's activation, as {@code hidden_act} names it. */
    String hiddenAct();

    float layerNormEps();
}
