package dev.selectune.evaluation.models;

import dev.selectune.diffusion.clip.EncoderLayerConfig;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.io.JsonFields;

/**
 * The sizes of a ViT image tower: transformers' {@code CLIPVisionConfig} (the {@code vision_config} of a CLIPModel
 * config.json) or {@code ViTConfig}. Absent fields take that class's transformers default; a value this code cannot
 * run fails naming the file and field.
 *
 * @param qkvBias whether query/key/value have biases (always for CLIP; ViTConfig's {@code qkv_bias})
 */
public record VisionConfig(int hiddenSize, int intermediateSize, int numHiddenLayers, int numAttentionHeads,
                           int numChannels, int imageSize, int patchSize, String hiddenAct, float layerNormEps,
                           boolean qkvBias) implements EncoderLayerConfig {

    /** transformers' CLIPVisionConfig defaults (ViT-B/32). */
    public static VisionConfig clip(JsonFields c) {
        return of(c, 768, 3072, 12, 12, 3, 224, 32, "quick_gelu", 1e-5, true);
    }

    /** transformers' ViTConfig defaults (ViT-B/16); {@code qkv_bias} is read. */
    public static VisionConfig vit(JsonFields c) {
        return of(c, 768, 3072, 12, 12, 3, 224, 16, "gelu", 1e-12, c.boolField("qkv_bias", true));
    }

    private static VisionConfig of(JsonFields c, int hidden, int intermediate, int layers, int heads, int channels,
                                   int image, int patch, String act, double eps, boolean qkvBias) {
        VisionConfig v = new VisionConfig(c.intField("hidden_size", hidden), c.intField("intermediate_size", intermediate),
                c.intField("num_hidden_layers", layers), c.intField("num_attention_heads", heads),
                c.intField("num_channels", channels), c.intField("image_size", image), c.intField("patch_size", patch),
                c.stringField("hidden_act", act), (float) c.doubleField("layer_norm_eps", eps), qkvBias);
        for (String f : new String[] {"hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads",
                "num_channels", "image_size", "patch_size"}) {
            if (c.has(f) && c.intField(f, 0) < 1) {
                throw c.error(f, "must be positive");
            }
        }
        if (v.hiddenSize % v.numAttentionHeads != 0) {
            throw c.error("hidden_size", v.hiddenSize + " is not divisible by num_attention_heads " + v.numAttentionHeads);
        }
        if (v.imageSize % v.patchSize != 0) {
            throw c.error("image_size", v.imageSize + " is not a multiple of patch_size " + v.patchSize);
        }
        if (!(v.layerNormEps > 0)) {
            throw c.error("layer_norm_eps", "must be positive");
        }
        try {
            Activations.requireKnown("hidden_act", v.hiddenAct);
        } catch (WeightsException e) {
            throw c.error("hidden_act", "names '" + v.hiddenAct + "', not one of gelu, quick_gelu, silu");
        }
        return v;
    }

    @Override
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Patches per image plus the class token. */
    public int numPositions() {
        int side = imageSize / patchSize;
        return side * side + 1;
    }

    /** Fails unless the pixel batch has the size the position embeddings were trained for. */
    void requireInput(long channels, long height, long width) {
        if (channels != numChannels || height != imageSize || width != imageSize) {
            throw new EvaluationException("the encoder takes " + numChannels + "x" + imageSize + "x" + imageSize
                    + " pixel values, got " + channels + "x" + height + "x" + width
                    + " (does preprocessor_config.json's size/crop_size match config.json's image_size?)");
        }
    }
}
