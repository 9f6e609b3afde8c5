package dev.selectune.diffusion.clip;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.nn.Activations;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * transformers' {@code CLIPTextConfig} (the {@code text_encoder/config.json} of a diffusers pipeline). Absent fields
 * take transformers' defaults; values this code cannot run fail at load, naming the file and field.
 *
 * @param eosTokenId the end-of-text id; the legacy value 2 (written by older configs, SD 1.x/2.x/SDXL included)
 *                   selects the argmax pooling path, see {@link CLIPTextTransformer}
 */
public record CLIPTextConfig(int vocabSize, int hiddenSize, int intermediateSize, int projectionDim,
                             int numHiddenLayers, int numAttentionHeads, int maxPositionEmbeddings,
                             String hiddenAct, float layerNormEps, int bosTokenId, int eosTokenId, int padTokenId)
        implements EncoderLayerConfig {

    public CLIPTextConfig {
        if (hiddenSize <= 0 || numAttentionHeads <= 0 || hiddenSize % numAttentionHeads != 0) {
            throw new PipelineException("CLIP text config: hidden_size " + hiddenSize
                    + " is not divisible by num_attention_heads " + numAttentionHeads);
        }
        if (numHiddenLayers < 1 || vocabSize < 1 || intermediateSize < 1 || maxPositionEmbeddings < 1) {
            throw new PipelineException("CLIP text config: num_hidden_layers, vocab_size, intermediate_size and "
                    + "max_position_embeddings must be positive");
        }
        Activations.requireKnown("CLIP text config field hidden_act", hiddenAct);
    }

    @Override
    public int headDim() {
        return hiddenSize / numAttentionHeads;
    }

    /** Reads a config.json; errors name the file. */
    public static CLIPTextConfig load(Path configFile) {
        JsonObject json;
        try {
            json = JsonParser.parseString(Files.readString(configFile)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(configFile + ": unreadable text encoder config: " + e.getMessage(), e);
        }
        try {
            return fromJson(json);
        } catch (PipelineException | dev.selectune.diffusion.nn.WeightsException e) {
            throw new PipelineException(configFile + ": " + e.getMessage(), e);
        }
    }

    /** From a parsed config, with transformers 4.38's defaults for absent fields. */
    public static CLIPTextConfig fromJson(JsonObject json) {
        return new CLIPTextConfig(
                intField(json, "vocab_size", 49408),
                intField(json, "hidden_size", 512),
                intField(json, "intermediate_size", 2048),
                intField(json, "projection_dim", 512),
                intField(json, "num_hidden_layers", 12),
                intField(json, "num_attention_heads", 8),
                intField(json, "max_position_embeddings", 77),
                json.has("hidden_act") ? json.get("hidden_act").getAsString() : "quick_gelu",
                json.has("layer_norm_eps") ? json.get("layer_norm_eps").getAsFloat() : 1e-5f,
                intField(json, "bos_token_id", 49406),
                intField(json, "eos_token_id", 49407),
                intField(json, "pad_token_id", 1));
    }

    private static int intField(JsonObject json, String field, int fallback) {
        JsonElement e = json.get(field);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        try {
            return e.getAsInt();
        } catch (RuntimeException ex) {
            throw new PipelineException("field " + field + " must be an integer, got " + e);
        }
    }
}
