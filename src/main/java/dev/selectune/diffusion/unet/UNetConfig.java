package dev.selectune.diffusion.unet;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Set;

/**
 * The {@code config.json} of a diffusers 0.27 {@code UNet2DConditionModel}, with the per-level lists resolved the
 * way diffusers resolves them (ints broadcast to every level, {@code attention_head_dim} read as the head COUNT
 * because {@code num_attention_heads} is null, the up path reversed).
 *
 * <p>Every field of the 0.27 config is known here. A value this implementation does not compute (class embeddings,
 * other time embeddings, scale-shift resnets, other block or attention types, ...) fails at parse time with the
 * file and field named, and so does a field diffusers 0.27 does not have, rather than being silently ignored.
 */
public record UNetConfig(
        String source,
        int sampleSize,
        int inChannels,
        int outChannels,
        boolean centerInputSample,
        boolean flipSinToCos,
        float freqShift,
        List<String> downBlockTypes,
        List<String> upBlockTypes,
        int[] blockOutChannels,
        int[] layersPerBlock,
        int downsamplePadding,
        float midBlockScaleFactor,
        String actFn,
        int normNumGroups,
        float normEps,
        int[] crossAttentionDim,
        /** per level, per resnet layer of the down block */
        int[][] transformerLayersPerBlock,
        /** per up level (execution order), per resnet layer of the up block */
        int[][] reverseTransformerLayersPerBlock,
        int[] numAttentionHeads,
        boolean useLinearProjection,
        boolean upcastAttention,
        float resnetOutScaleFactor,
        int timeEmbeddingDim,
        int convInKernel,
        int convOutKernel,
        String additionEmbedType,
        int additionTimeEmbedDim,
        int projectionClassEmbeddingsInputDim) {

    public static final Set<String> DOWN_BLOCKS = Set.of("CrossAttnDownBlock2D", "DownBlock2D");
    public static final Set<String> UP_BLOCKS = Set.of("CrossAttnUpBlock2D", "UpBlock2D");

    /** Every key of diffusers 0.27's UNet2DConditionModel config. */
    private static final Set<String> KNOWN = Set.of("sample_size", "in_channels", "out_channels",
            "center_input_sample", "flip_sin_to_cos", "freq_shift", "down_block_types", "mid_block_type",
            "up_block_types", "only_cross_attention", "block_out_channels", "layers_per_block", "downsample_padding",
            "mid_block_scale_factor", "dropout", "act_fn", "norm_num_groups", "norm_eps", "cross_attention_dim",
            "transformer_layers_per_block", "reverse_transformer_layers_per_block", "encoder_hid_dim",
            "encoder_hid_dim_type", "attention_head_dim", "num_attention_heads", "dual_cross_attention",
            "use_linear_projection", "class_embed_type", "addition_embed_type", "addition_time_embed_dim",
            "num_class_embeds", "upcast_attention", "resnet_time_scale_shift", "resnet_skip_time_act",
            "resnet_out_scale_factor", "time_embedding_type", "time_embedding_dim", "time_embedding_act_fn",
            "timestep_post_act", "time_cond_proj_dim", "conv_in_kernel", "conv_out_kernel",
            "projection_class_embeddings_input_dim", "attention_type", "class_embeddings_concat",
            "mid_block_only_cross_attention", "cross_attention_norm", "addition_embed_type_num_heads");

    public int levels() {
        return blockOutChannels.length;
    }

    /** Width of the time embedding ({@code time_embedding_dim}, else 4 x the first block's channels). */
    public int timeEmbedDim() {
        return timeEmbeddingDim;
    }

    public boolean hasTextTimeEmbedding() {
        return "text_time".equals(additionEmbedType);
    }

    /** Reads {@code unetDir/config.json}. */
    public static UNetConfig load(Path unetDir) {
        Path file = unetDir.resolve("config.json");
        try {
            return parse(file.toString(), Files.readString(file));
        } catch (IOException e) {
            throw new PipelineException(file + ": cannot read the UNet config: " + e.getMessage());
        }
    }

    /** A built-in full-size config: {@code sd15}, {@code sd21} or {@code sdxl} (the real models' config.json). */
    public static UNetConfig preset(String name) {
        String resource = "/unet-presets/" + name + ".json";
        try (InputStream in = UNetConfig.class.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IllegalArgumentException("unknown UNet preset '" + name + "' (known: sd15, sd21, sdxl)");
            }
            return parse("preset " + name, new String(in.readAllBytes(), StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new IllegalStateException("cannot read " + resource, e);
        }
    }

    public static UNetConfig parse(String source, String json) {
        JsonObject o;
        try {
            o = JsonParser.parseString(json).getAsJsonObject();
        } catch (RuntimeException e) {
            throw new PipelineException(source + ": not a JSON object: " + e.getMessage());
        }
        Reader r = new Reader(source, o);
        for (String key : o.keySet()) {
            if (!key.startsWith("_") && !KNOWN.contains(key)) {
                throw r.fail(key, "is not a diffusers 0.27 UNet2DConditionModel option");
            }
        }
        String className = r.string("_class_name", "UNet2DConditionModel");
        if (!className.equals("UNet2DConditionModel")) {
            throw r.fail("_class_name", "'" + className + "' is not supported (only UNet2DConditionModel)");
        }
        // Options whose non-default values change the computation and this code does not support.
        r.requireDefault("class_embed_type", null);
        r.requireDefault("num_class_embeds", null);
        r.requireDefault("class_embeddings_concat", false);
        r.requireDefault("encoder_hid_dim", null);
        r.requireDefault("encoder_hid_dim_type", null);
        r.requireDefault("dual_cross_attention", false);
        r.requireDefault("resnet_time_scale_shift", "default");
        r.requireDefault("resnet_skip_time_act", false);
        r.requireDefault("time_embedding_type", "positional");
        r.requireDefault("time_embedding_act_fn", null);
        r.requireDefault("timestep_post_act", null);
        r.requireDefault("time_cond_proj_dim", null);
        r.requireDefault("attention_type", "default");
        r.requireDefault("cross_attention_norm", null);
        if (o.has("mid_block_type") && !"\"UNetMidBlock2DCrossAttn\"".equals(o.get("mid_block_type").toString())) {
            throw r.fail("mid_block_type", "= " + o.get("mid_block_type") + " is not supported (only UNetMidBlock2DCrossAttn)");
        }
        r.requireFalseOrAllFalse("only_cross_attention");
        r.requireFalseOrAllFalse("mid_block_only_cross_attention");
        if (r.number("dropout", 0) != 0) {
            // Only matters in training; DreamBooth-LoRA trains with the base's dropout off.
            throw r.fail("dropout", "must be 0 (dropout inside the UNet is not supported)");
        }
        if (o.has("num_attention_heads") && !o.get("num_attention_heads").isJsonNull()) {
            // diffusers 0.27 itself rejects this: attention_head_dim carries the head count.
            throw r.fail("num_attention_heads", "must be null (diffusers 0.27 reads the head count from attention_head_dim)");
        }

        List<String> down = r.strings("down_block_types");
        List<String> up = r.strings("up_block_types");
        int[] channels = r.ints("block_out_channels");
        int levels = channels.length;
        if (down.size() != levels || up.size() != levels) {
            throw r.fail("down_block_types", "down_block_types (" + down.size() + "), up_block_types (" + up.size()
                    + ") and block_out_channels (" + levels + ") must have the same length");
        }
        for (String t : down) {
            if (!DOWN_BLOCKS.contains(t)) {
                throw r.fail("down_block_types", "block type '" + t + "' is not supported (supported: " + DOWN_BLOCKS + ")");
            }
        }
        for (String t : up) {
            if (!UP_BLOCKS.contains(t)) {
                throw r.fail("up_block_types", "block type '" + t + "' is not supported (supported: " + UP_BLOCKS + ")");
            }
        }
        String act = r.string("act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw r.fail("act_fn", "'" + act + "' is not supported (only silu)");
        }
        int[] layers = r.perLevelInts("layers_per_block", levels, 2);
        int[] heads = r.perLevelInts("attention_head_dim", levels, 8);
        int[] cross = r.perLevelInts("cross_attention_dim", levels, 1280);
        int[][] tlayers = r.perLayer("transformer_layers_per_block", levels, layers, 1);
        int[][] reverse;
        if (o.has("reverse_transformer_layers_per_block") && !o.get("reverse_transformer_layers_per_block").isJsonNull()) {
            int[] upLayers = new int[levels];
            for (int i = 0; i < levels; i++) {
                upLayers[i] = layers[levels - 1 - i] + 1;
            }
            reverse = r.perLayer("reverse_transformer_layers_per_block", levels, upLayers, 1);
        } else {
            reverse = new int[levels][];
            for (int i = 0; i < levels; i++) {
                int[] src = tlayers[levels - 1 - i];
                for (int v : src) {
                    if (v != src[0]) {
                        throw r.fail("reverse_transformer_layers_per_block",
                                "is required when transformer_layers_per_block differs between layers of a level");
                    }
                }
                reverse[i] = new int[layers[levels - 1 - i] + 1];
                Arrays.fill(reverse[i], src[0]);
            }
        }
        int groups = r.integer("norm_num_groups", 32);
        for (int c : channels) {
            if (c % groups != 0) {
                throw r.fail("norm_num_groups", c + " channels do not split into " + groups + " groups");
            }
        }
        for (int i = 0; i < levels; i++) {
            if (channels[i] % heads[i] != 0) {
                throw r.fail("attention_head_dim", "level " + i + ": " + channels[i] + " channels do not split into "
                        + heads[i] + " heads");
            }
        }
        String addition = r.string("addition_embed_type", null);
        int additionTimeDim = 0;
        int projectionDim = 0;
        if (addition != null) {
            if (!addition.equals("text_time")) {
                throw r.fail("addition_embed_type", "'" + addition + "' is not supported (only text_time, as SDXL)");
            }
            additionTimeDim = r.integer("addition_time_embed_dim", 0);
            projectionDim = r.integer("projection_class_embeddings_input_dim", 0);
            if (additionTimeDim <= 0 || projectionDim <= 0) {
                throw r.fail("addition_time_embed_dim", "text_time needs addition_time_embed_dim and "
                        + "projection_class_embeddings_input_dim");
            }
        }
        int convIn = r.integer("conv_in_kernel", 3);
        int convOut = r.integer("conv_out_kernel", 3);
        if (convIn % 2 == 0 || convOut % 2 == 0) {
            throw r.fail(convIn % 2 == 0 ? "conv_in_kernel" : "conv_out_kernel", "must be odd");
        }
        Integer timeDim = r.optionalInteger("time_embedding_dim");
        return new UNetConfig(source, r.firstInt("sample_size", 64), r.integer("in_channels", 4),
                r.integer("out_channels", 4), r.bool("center_input_sample", false), r.bool("flip_sin_to_cos", true),
                (float) r.number("freq_shift", 0), down, up, channels, layers, r.integer("downsample_padding", 1),
                (float) r.number("mid_block_scale_factor", 1), act, groups, (float) r.number("norm_eps", 1e-5),
                cross, tlayers, reverse, heads, r.bool("use_linear_projection", false),
                r.bool("upcast_attention", false), (float) r.number("resnet_out_scale_factor", 1),
                timeDim != null ? timeDim : channels[0] * 4, convIn, convOut, addition, additionTimeDim, projectionDim);
    }

    /** Typed access to the JSON with errors naming the config and the field. */
    private static final class Reader {
        private final String source;
        private final JsonObject o;

        Reader(String source, JsonObject o) {
            this.source = source;
            this.o = o;
        }

        PipelineException fail(String field, String message) {
            return new PipelineException(source + ": field '" + field + "' " + message);
        }

        private JsonElement value(String field) {
            JsonElement e = o.get(field);
            return e == null || e.isJsonNull() ? null : e;
        }

        void requireDefault(String field, Object expected) {
            JsonElement e = value(field);
            Object actual;
            if (e == null) {
                actual = null;
            } else if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isBoolean()) {
                actual = e.getAsBoolean();
            } else if (e.isJsonPrimitive() && e.getAsJsonPrimitive().isString()) {
                actual = e.getAsString();
            } else {
                actual = e.toString();
            }
            boolean absentIsDefault = e == null;
            if (!absentIsDefault && !java.util.Objects.equals(actual, expected)) {
                throw fail(field, "= " + e + " is not supported (only " + (expected == null ? "null" : expected) + ")");
            }
        }

        void requireFalseOrAllFalse(String field) {
            JsonElement e = value(field);
            if (e == null) {
                return;
            }
            boolean any = e.isJsonArray() ? e.getAsJsonArray().asList().stream().anyMatch(JsonElement::getAsBoolean)
                    : e.getAsBoolean();
            if (any) {
                throw fail(field, "= " + e + " is not supported (only false)");
            }
        }

        String string(String field, String dflt) {
            JsonElement e = value(field);
            return e == null ? dflt : e.getAsString();
        }

        boolean bool(String field, boolean dflt) {
            JsonElement e = value(field);
            try {
                return e == null ? dflt : e.getAsBoolean();
            } catch (RuntimeException ex) {
                throw fail(field, "must be true or false, got " + e);
            }
        }

        double number(String field, double dflt) {
            JsonElement e = value(field);
            try {
                return e == null ? dflt : e.getAsDouble();
            } catch (RuntimeException ex) {
                throw fail(field, "must be a number, got " + e);
            }
        }

        int integer(String field, int dflt) {
            Integer v = optionalInteger(field);
            return v == null ? dflt : v;
        }

        Integer optionalInteger(String field) {
            JsonElement e = value(field);
            if (e == null) {
                return null;
            }
            if (!e.isJsonPrimitive() || !e.getAsJsonPrimitive().isNumber()) {
                throw fail(field, "must be an integer, got " + e);
            }
            return e.getAsInt();
        }

        /** {@code sample_size} may be an int or [h, w]. */
        int firstInt(String field, int dflt) {
            JsonElement e = value(field);
            if (e == null) {
                return dflt;
            }
            return e.isJsonArray() ? e.getAsJsonArray().get(0).getAsInt() : e.getAsInt();
        }

        List<String> strings(String field) {
            JsonElement e = value(field);
            if (e == null || !e.isJsonArray()) {
                throw fail(field, "must be a list of block type names, got " + e);
            }
            List<String> out = new ArrayList<>();
            e.getAsJsonArray().forEach(x -> out.add(x.getAsString()));
            return out;
        }

        int[] ints(String field) {
            JsonElement e = value(field);
            if (e == null || !e.isJsonArray()) {
                throw fail(field, "must be a list of integers, got " + e);
            }
            return toInts(field, e.getAsJsonArray());
        }

        private int[] toInts(String field, JsonArray a) {
            int[] out = new int[a.size()];
            for (int i = 0; i < out.length; i++) {
                JsonElement x = a.get(i);
                if (!x.isJsonPrimitive() || !x.getAsJsonPrimitive().isNumber()) {
                    throw fail(field, "entry " + i + " must be an integer, got " + x);
                }
                out[i] = x.getAsInt();
            }
            return out;
        }

        /** An int broadcast to every level, or a list with one entry per level. */
        int[] perLevelInts(String field, int levels, int dflt) {
            JsonElement e = value(field);
            int[] out = new int[levels];
            if (e == null) {
                Arrays.fill(out, dflt);
            } else if (e.isJsonArray()) {
                out = toInts(field, e.getAsJsonArray());
                if (out.length != levels) {
                    throw fail(field, "has " + out.length + " entries for " + levels + " levels");
                }
            } else {
                Arrays.fill(out, optionalInteger(field));
            }
            return out;
        }

        /** An int, a per-level list of ints, or a per-level list of per-layer lists. */
        int[][] perLayer(String field, int levels, int[] layersPerLevel, int dflt) {
            JsonElement e = value(field);
            int[][] out = new int[levels][];
            for (int i = 0; i < levels; i++) {
                out[i] = new int[layersPerLevel[i]];
            }
            if (e == null || !e.isJsonArray()) {
                int v = e == null ? dflt : optionalInteger(field);
                for (int[] level : out) {
                    Arrays.fill(level, v);
                }
                return out;
            }
            JsonArray a = e.getAsJsonArray();
            if (a.size() != levels) {
                throw fail(field, "has " + a.size() + " entries for " + levels + " levels");
            }
            for (int i = 0; i < levels; i++) {
                JsonElement x = a.get(i);
                if (x.isJsonArray()) {
                    int[] perLayer = toInts(field, x.getAsJsonArray());
                    if (perLayer.length != layersPerLevel[i]) {
                        throw fail(field, "level " + i + " lists " + perLayer.length + " layers, the block has "
                                + layersPerLevel[i]);
                    }
                    out[i] = perLayer;
                } else {
                    Arrays.fill(out[i], x.getAsInt());
                }
            }
            return out;
        }
    }

    @Override
    public String toString() {
        return "UNetConfig[" + source + ", levels " + Arrays.toString(blockOutChannels) + ", heads "
                + Arrays.toString(numAttentionHeads) + ", cross " + Arrays.toString(crossAttentionDim) + "]";
    }
}
