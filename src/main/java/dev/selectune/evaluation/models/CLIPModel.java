package dev.selectune.evaluation.models;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.clip.CLIPTextConfig;
import dev.selectune.diffusion.clip.CLIPTextOutput;
import dev.selectune.diffusion.clip.CLIPTextTransformer;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Weights;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.io.JsonFields;

import java.nio.file.Path;

/**
 * transformers' {@code CLIPModel}: the text tower (the diffusion pipeline's {@link CLIPTextTransformer}, keys
 * {@code text_model.*}) and the image tower ({@link CLIPVisionTransformer}, {@code vision_model.*}), each with its
 * bias-free projection ({@code text_projection}, {@code visual_projection}) into the shared embedding space, plus
 * the folder's tokenizer. {@code logit_scale} is read and kept for completeness; the DreamBooth metrics are plain
 * cosines and do not use it.
 */
public final class CLIPModel implements AutoCloseable {
    private final CLIPTextTransformer textModel;
    private final CLIPVisionTransformer visionModel;
    private final Linear textProjection;
    private final Linear visualProjection;
    private final NDArray logitScale;
    private final ClipTokenizer tokenizer;
    private final int projectionDim;
    private final NDManager manager;

    private CLIPModel(CLIPTextTransformer textModel, CLIPVisionTransformer visionModel, Linear textProjection,
                      Linear visualProjection, NDArray logitScale, ClipTokenizer tokenizer, int projectionDim,
                      NDManager manager) {
        this.textModel = textModel;
        this.visionModel = visionModel;
        this.textProjection = textProjection;
        this.visualProjection = visualProjection;
        this.logitScale = logitScale;
        this.tokenizer = tokenizer;
        this.projectionDim = projectionDim;
        this.manager = manager;
    }

    /** Loads {@code config.json}, the weights and the tokenizer files of a Hugging Face CLIP folder. */
    public static CLIPModel load(Path dir, Device device) {
        JsonFields json = JsonFields.read(dir.resolve("config.json"));
        String type = json.stringField("model_type", "clip");
        if (!type.equals("clip")) {
            throw json.error("model_type", "is '" + type + "'; the CLIP evaluator needs a CLIPModel folder (model_type clip)");
        }
        CLIPTextConfig textConfig;
        try {
            textConfig = CLIPTextConfig.fromJson(json.object("text_config").json());
        } catch (PipelineException | WeightsException e) {
            throw new EvaluationException(json.file() + ": text_config: " + e.getMessage(), e);
        }
        VisionConfig visionConfig = VisionConfig.clip(json.object("vision_config"));
        int projectionDim = json.intField("projection_dim", 512);
        if (projectionDim < 1) {
            throw json.error("projection_dim", "must be positive");
        }
        ClipTokenizer tokenizer;
        try {
            tokenizer = ClipTokenizer.loadOrFullVocabulary(dir);
        } catch (PipelineException e) {
            throw new EvaluationException(e.getMessage(), e);
        }
        NDManager manager = NDManager.newBaseManager(device);
        try (Weights w = Weights.open(dir, "model", manager, DataType.FLOAT32)) {
            return load(textConfig, visionConfig, projectionDim, w, tokenizer, manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public static CLIPModel load(CLIPTextConfig text, VisionConfig vision, int projectionDim, Weights w,
                                 ClipTokenizer tokenizer, NDManager manager) {
        CLIPTextTransformer textModel = CLIPTextTransformer.load(w.child("text_model"), text);
        CLIPVisionTransformer visionModel = CLIPVisionTransformer.load(w.child("vision_model"), vision);
        Linear textProjection = Linear.load(w.child("text_projection"), text.hiddenSize(), projectionDim, false);
        Linear visualProjection = Linear.load(w.child("visual_projection"), vision.hiddenSize(), projectionDim, false);
        NDArray logitScale = w.get("logit_scale");
        try {
            w.requireAllUsed();
        } catch (WeightsException e) {
            throw new EvaluationException(e.getMessage() + " (a CLIP folder should hold a CLIPModel)", e);
        }
        return new CLIPModel(textModel, visionModel, textProjection, visualProjection, logitScale, tokenizer,
                projectionDim, manager);
    }

    public CLIPTextTransformer textModel() {
        return textModel;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    public int projectionDim() {
        return projectionDim;
    }

    public NDManager manager() {
        return manager;
    }

    public float logitScale() {
        return logitScale.toType(DataType.FLOAT32, false).toFloatArray()[0];
    }

    /** The tokenizer's output for each prompt, padded to the text tower's positions. */
    public TextInputs tokenize(java.util.List<String> prompts) {
        int length = Math.min(tokenizer.modelMaxLength(), textModel.config().maxPositionEmbeddings());
        return TextInputs.encode(tokenizer, prompts, length);
    }

    /** The ids of {@link #tokenize} as (B, T) INT64 in {@code into}. */
    public NDArray inputIds(java.util.List<String> prompts, NDManager into) {
        return tokenize(prompts).idsArray(into);
    }

    /** {@code get_text_features}: text_projection(pooler_output), (B, projection_dim), not normalised. */
    public NDArray textEmbeds(NDArray inputIds) {
        return Autograd.noGrad(() -> {
            try (CLIPTextOutput out = textModel.forward(inputIds, false)) {
                return textProjection.forward(out.pooledOutput());
            }
        });
    }

    /** {@code get_image_features}: visual_projection(post_layernorm(CLS)), (B, projection_dim), not normalised. */
    public NDArray imageEmbeds(NDArray pixelValues) {
        return Autograd.noGrad(() -> {
            try (VisionOutput out = visionModel.forward(pixelValues, false)) {
                return visualProjection.forward(out.pooledOutput());
            }
        });
    }

    /** The vision tower's outputs (for checks against the reference). */
    public VisionOutput visionForward(NDArray pixelValues, boolean outputHiddenStates) {
        return Autograd.noGrad(() -> visionModel.forward(pixelValues, outputHiddenStates));
    }

    public NDArray projectText(NDArray pooled) {
        return Autograd.noGrad(() -> textProjection.forward(pooled));
    }

    @Override
    public void close() {
        manager.close();
    }
}
