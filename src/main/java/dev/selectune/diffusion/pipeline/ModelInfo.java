package dev.selectune.diffusion.pipeline;

import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * What a diffusers pipeline folder is, read from its JSON files only (no weights): the model family, the native
 * resolution and the prediction type. The service lists models with it and validates jobs against it.
 *
 * @param family          {@code sd15}, {@code sd21}, {@code sdxl} or {@code ssd1b}
 * @param pipelineClass   {@code _class_name} of {@code model_index.json}
 * @param nativeResolution UNet {@code sample_size} times the VAE's downscale factor (512 for SD 1.5, 1024 for SDXL)
 * @param vaeScaleFactor  2^(VAE levels - 1): 8 for real SD, 2 for the tiny test pipelines
 * @param predictionType  {@code epsilon} or {@code v_prediction}
 */
public record ModelInfo(String family, String pipelineClass, int nativeResolution, int vaeScaleFactor,
                        String predictionType, int crossAttentionDim) {

    public static ModelInfo read(Path dir) {
        JsonObject index = readJson(dir.resolve("model_index.json"));
        String pipelineClass = string(index, "_class_name", "StableDiffusionPipeline");
        for (String component : new String[] {"unet", "vae", "scheduler", "text_encoder", "tokenizer"}) {
            if (!index.has(component)) {
                throw new PipelineException(dir.resolve("model_index.json") + ": no '" + component + "' component");
            }
        }
        JsonObject unet = readJson(dir.resolve("unet/config.json"));
        JsonObject vae = readJson(dir.resolve("vae/config.json"));
        JsonObject scheduler = readJson(dir.resolve("scheduler/scheduler_config.json"));
        int sampleSize = unet.has("sample_size") ? unet.get("sample_size").getAsInt() : 64;
        int vaeLevels = vae.has("block_out_channels") ? vae.getAsJsonArray("block_out_channels").size() : 4;
        int scale = 1 << (vaeLevels - 1);
        String prediction = string(scheduler, "prediction_type", "epsilon");
        int crossDim = unet.has("cross_attention_dim") && unet.get("cross_attention_dim").isJsonPrimitive()
                ? unet.get("cross_attention_dim").getAsInt() : 768;
        boolean xl = pipelineClass.contains("XL") || "text_time".equals(string(unet, "addition_embed_type", ""));
        String family;
        if (xl) {
            family = isSsd1b(unet) ? "ssd1b" : "sdxl";
        } else if (crossDim == 1024 || "v_prediction".equals(prediction) || unet.get("use_linear_projection") != null
                && unet.get("use_linear_projection").isJsonPrimitive() && unet.get("use_linear_projection").getAsBoolean()) {
            family = "sd21";
        } else {
            family = "sd15";
        }
        return new ModelInfo(family, pipelineClass, sampleSize * scale, scale, prediction, crossDim);
    }

    /** SSD-1B is SDXL with uneven transformer depths per block (e.g. [0, 2, 4] / [0, 1, 2, 3, ...]). */
    private static boolean isSsd1b(JsonObject unet) {
        JsonElement up = unet.get("reverse_transformer_layers_per_block");
        return up != null && up.isJsonArray();
    }

    static JsonObject readJson(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new PipelineException(file + ": missing (not a diffusers pipeline folder?)");
        }
        try {
            return JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(file + ": unreadable JSON: " + e.getMessage());
        }
    }

    static String string(JsonObject o, String key, String fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsString();
    }
}
