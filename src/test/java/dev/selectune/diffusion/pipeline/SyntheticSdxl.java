package dev.selectune.diffusion.pipeline;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.clip.CLIPTextConfig;
import dev.selectune.diffusion.clip.CLIPTextModelWithProjection;
import dev.selectune.diffusion.nn.Weights;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.unet.UNetConfig;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Writes a tiny SDXL-like diffusers folder with random weights, to exercise the SDXL code paths (two text encoders,
 * pooled embeddings, added time ids, a 3-level UNet with per-level transformer depths) without a reference: there
 * are no diffusers numbers for it, so tests on it check loading, shapes, wiring and finiteness only.
 *
 * <ul>
 *   <li>{@code tokenizer}/{@code text_encoder}: tiny-sd15's (CLIPTextModel, hidden 32, pads with end-of-text);</li>
 *   <li>{@code tokenizer_2}: tiny-sd21v's (pads with "!", as SDXL's second tokenizer);
 *       {@code text_encoder_2}: a random CLIPTextModelWithProjection, hidden 32, projection 32;</li>
 *   <li>{@code unet}: SDXL's layout shrunk: DownBlock2D + 2 CrossAttnDownBlock2D at (32, 64, 64) channels,
 *       {@code transformer_layers_per_block = [1, 1, 2]}, cross-attention 64 = 32 + 32, {@code text_time} with
 *       8-wide time ids: 6 * 8 + 32 = 80 projection inputs;</li>
 *   <li>{@code vae}: tiny-sd15's; {@code scheduler}: SDXL's EulerDiscreteScheduler config.</li>
 * </ul>
 */
public final class SyntheticSdxl {
    static final int POOLED_DIM = 32;
    static final int CONTEXT_DIM = 64;

    private SyntheticSdxl() {
    }

    /** Writes the folder under {@code dir} (created) and returns it. */
    public static Path write(Path dir) {
        try {
            Path sd15 = GoldenCase.resource("tiny-sd15");
            Path sd21 = GoldenCase.resource("tiny-sd21v");
            Files.createDirectories(dir);
            copyTree(sd15.resolve("tokenizer"), dir.resolve("tokenizer"));
            copyTree(sd15.resolve("text_encoder"), dir.resolve("text_encoder"));
            copyTree(sd21.resolve("tokenizer"), dir.resolve("tokenizer_2"));
            copyTree(sd15.resolve("vae"), dir.resolve("vae"));
            Files.writeString(dir.resolve("model_index.json"), MODEL_INDEX);
            Files.createDirectories(dir.resolve("scheduler"));
            Files.writeString(dir.resolve("scheduler/scheduler_config.json"), EULER);
            Engine.getInstance().setRandomSeed(7);
            try (NDManager m = NDManager.newBaseManager()) {
                writeTextEncoder2(dir.resolve("text_encoder_2"), m);
                writeUnet(dir.resolve("unet"), m);
            }
            return dir;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static void writeTextEncoder2(Path dir, NDManager m) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), TEXT_ENCODER_2);
        JsonObject json = JsonParser.parseString(TEXT_ENCODER_2).getAsJsonObject();
        try (Weights w = Weights.random(m, DataType.FLOAT32)) {
            CLIPTextModelWithProjection.load(CLIPTextConfig.fromJson(json), w);
            save(w, dir.resolve("model.safetensors"));
        }
    }

    private static void writeUnet(Path dir, NDManager m) throws IOException {
        Files.createDirectories(dir);
        Files.writeString(dir.resolve("config.json"), UNET);
        try (Weights w = Weights.random(m, DataType.FLOAT32)) {
            UNet2DConditionModel.build(UNetConfig.parse("synthetic sdxl unet", UNET), w);
            save(w, dir.resolve("diffusion_pytorch_model.safetensors"));
        }
    }

    private static void save(Weights w, Path file) {
        SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
        w.madeTensors().forEach(writer::put);
        writer.write(file);
    }

    private static void copyTree(Path src, Path dst) throws IOException {
        try (Stream<Path> files = Files.walk(src)) {
            for (Path p : (Iterable<Path>) files::iterator) {
                Path target = dst.resolve(src.relativize(p).toString());
                if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target);
                }
            }
        }
    }

    private static final String MODEL_INDEX = """
            {
              "_class_name": "StableDiffusionXLPipeline",
              "_diffusers_version": "0.27.2",
              "force_zeros_for_empty_prompt": true,
              "scheduler": ["diffusers", "EulerDiscreteScheduler"],
              "text_encoder": ["transformers", "CLIPTextModel"],
              "text_encoder_2": ["transformers", "CLIPTextModelWithProjection"],
              "tokenizer": ["transformers", "CLIPTokenizer"],
              "tokenizer_2": ["transformers", "CLIPTokenizer"],
              "unet": ["diffusers", "UNet2DConditionModel"],
              "vae": ["diffusers", "AutoencoderKL"]
            }
            """;

    private static final String TEXT_ENCODER_2 = """
            {
              "architectures": ["CLIPTextModelWithProjection"],
              "hidden_act": "gelu", "hidden_size": 32, "intermediate_size": 37, "layer_norm_eps": 1e-05,
              "max_position_embeddings": 77, "num_attention_heads": 4, "num_hidden_layers": 2,
              "projection_dim": 32, "vocab_size": 1000, "bos_token_id": 0, "eos_token_id": 2, "pad_token_id": 1
            }
            """;

    private static final String UNET = """
            {
              "_class_name": "UNet2DConditionModel",
              "act_fn": "silu",
              "addition_embed_type": "text_time",
              "addition_embed_type_num_heads": 64,
              "addition_time_embed_dim": 8,
              "attention_head_dim": [2, 4, 4],
              "block_out_channels": [32, 64, 64],
              "center_input_sample": false,
              "cross_attention_dim": 64,
              "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D", "CrossAttnDownBlock2D"],
              "downsample_padding": 1,
              "flip_sin_to_cos": true,
              "freq_shift": 0,
              "in_channels": 4,
              "layers_per_block": 1,
              "mid_block_scale_factor": 1,
              "mid_block_type": "UNetMidBlock2DCrossAttn",
              "norm_eps": 1e-05,
              "norm_num_groups": 32,
              "out_channels": 4,
              "projection_class_embeddings_input_dim": 80,
              "sample_size": 16,
              "transformer_layers_per_block": [1, 1, 2],
              "up_block_types": ["CrossAttnUpBlock2D", "CrossAttnUpBlock2D", "UpBlock2D"],
              "use_linear_projection": true
            }
            """;

    private static final String EULER = """
            {
              "_class_name": "EulerDiscreteScheduler",
              "_diffusers_version": "0.27.2",
              "beta_end": 0.012,
              "beta_schedule": "scaled_linear",
              "beta_start": 0.00085,
              "interpolation_type": "linear",
              "num_train_timesteps": 1000,
              "prediction_type": "epsilon",
              "sample_max_value": 1.0,
              "set_alpha_to_one": false,
              "skip_prk_steps": true,
              "steps_offset": 1,
              "timestep_spacing": "leading",
              "trained_betas": null,
              "use_karras_sigmas": false
            }
            """;
}
