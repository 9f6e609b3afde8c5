package dev.selectune.diffusion.vae;

import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.PipelineException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

/**
 * The {@code config.json} of diffusers' {@code AutoencoderKL}.
 *
 * <p>Only the blocks Stable Diffusion's VAEs use are built ({@code DownEncoderBlock2D} / {@code UpDecoderBlock2D},
 * SiLU); any other block type or activation fails here, naming the file and field. {@code force_upcast} and
 * {@code shift_factor} are read so SDXL's config loads, but only {@code scaling_factor} is used: no SD/SDXL VAE
 * has a shift, and fp16 overflow is the caller's choice of dtype.
 *
 * @param scalingFactor the latent scale the pipeline divides by before {@code decode} (0.18215 for SD, 0.13025 for SDXL)
 * @param shiftFactor   null when absent (SD 3 / Flux VAEs have one; SD and SDXL do not)
 */
public record VaeConfig(int inChannels, int outChannels, List<Integer> blockOutChannels, int layersPerBlock,
                        int latentChannels, int normNumGroups, int sampleSize, float scalingFactor, Float shiftFactor,
                        boolean forceUpcast, boolean midBlockAddAttention, boolean useQuantConv,
                        boolean usePostQuantConv) {

    /** GroupNorm eps everywhere in the VAE (diffusers hard-codes 1e-6 in Encoder and Decoder). */
    public static final float NORM_EPS = 1e-6f;

    public static VaeConfig read(Path file) {
        JsonObject o;
        try {
            o = JsonParser.parseString(Files.readString(file)).getAsJsonObject();
        } catch (IOException | RuntimeException e) {
            throw new PipelineException(file + ": unreadable VAE config: " + e.getMessage(), e);
        }
        return parse(file, o);
    }

    public static VaeConfig parse(Path file, JsonObject o) {
        List<Integer> channels = ints(file, o, "block_out_channels", List.of(64));
        requireAll(file, o, "down_block_types", "DownEncoderBlock2D", channels.size());
        requireAll(file, o, "up_block_types", "UpDecoderBlock2D", channels.size());
        String act = string(o, "act_fn", "silu");
        if (!act.equals("silu") && !act.equals("swish")) {
            throw new PipelineException(file + ": act_fn '" + act + "' is not supported (only silu)");
        }
        VaeConfig c = new VaeConfig(
                integer(o, "in_channels", 3), integer(o, "out_channels", 3), channels,
                integer(o, "layers_per_block", 1), integer(o, "latent_channels", 4),
                integer(o, "norm_num_groups", 32), integer(o, "sample_size", 32),
                (float) number(o, "scaling_factor", 0.18215), o.has("shift_factor") && !o.get("shift_factor").isJsonNull()
                ? (float) o.get("shift_factor").getAsDouble() : null,
                bool(o, "force_upcast", true), bool(o, "mid_block_add_attention", true),
                bool(o, "use_quant_conv", true), bool(o, "use_post_quant_conv", true));
        for (int ch : channels) {
            if (ch % c.normNumGroups != 0) {
                throw new PipelineException(file + ": block_out_channels " + channels + " do not split into "
                        + c.normNumGroups + " groups (norm_num_groups)");
            }
        }
        return c;
    }

    /** Image pixels per latent pixel: 2^(levels - 1), 8 for real SD VAEs. */
    public int downscaleFactor() {
        return 1 << (blockOutChannels.size() - 1);
    }

    private static void requireAll(Path file, JsonObject o, String key, String supported, int levels) {
        JsonElement e = o.get(key);
        if (e == null) {
            return;
        }
        JsonArray a = e.getAsJsonArray();
        if (a.size() != levels) {
            throw new PipelineException(file + ": " + key + " has " + a.size() + " entries but block_out_channels has "
                    + levels);
        }
        for (JsonElement t : a) {
            if (!supported.equals(t.getAsString())) {
                throw new PipelineException(file + ": " + key + " contains '" + t.getAsString()
                        + "', which is not supported (only " + supported + ")");
            }
        }
    }

    private static List<Integer> ints(Path file, JsonObject o, String key, List<Integer> fallback) {
        JsonElement e = o.get(key);
        if (e == null || e.isJsonNull()) {
            return fallback;
        }
        if (!e.isJsonArray() || e.getAsJsonArray().isEmpty()) {
            throw new PipelineException(file + ": " + key + " must be a non-empty list");
        }
        return e.getAsJsonArray().asList().stream().map(JsonElement::getAsInt).toList();
    }

    private static int integer(JsonObject o, String key, int fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsInt();
    }

    private static double number(JsonObject o, String key, double fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsDouble();
    }

    private static boolean bool(JsonObject o, String key, boolean fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsBoolean();
    }

    private static String string(JsonObject o, String key, String fallback) {
        JsonElement e = o.get(key);
        return e == null || e.isJsonNull() ? fallback : e.getAsString();
    }
}
