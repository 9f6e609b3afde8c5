package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Weights;

import java.nio.file.Path;

/**
 * transformers' {@code CLIPTextModelWithProjection}: SDXL's {@code text_encoder_2}. The pooled output goes through
 * {@code text_projection} (a Linear without bias, hidden -> projection_dim) to give {@code text_embeds}, SDXL's
 * pooled text conditioning.
 */
public final class CLIPTextModelWithProjection {
    private final CLIPTextTransformer textModel;
    private final Linear textProjection;

    private CLIPTextModelWithProjection(CLIPTextTransformer textModel, Linear textProjection) {
        this.textModel = textModel;
        this.textProjection = textProjection;
    }

    public static CLIPTextModelWithProjection load(Path componentDir, NDManager manager, DataType dtype) {
        return load(componentDir, manager, Precision.of(dtype));
    }

    /** As {@link #load(Path, NDManager, DataType)}, with the weights held as {@code precision} says. */
    public static CLIPTextModelWithProjection load(Path componentDir, NDManager manager, Precision precision) {
        CLIPTextConfig config = CLIPTextConfig.load(componentDir.resolve("config.json"));
        try (Weights w = Weights.open(componentDir, "model", manager, precision)) {
            return load(config, w);
        }
    }

    public static CLIPTextModelWithProjection load(CLIPTextConfig config, Weights w) {
        CLIPTextTransformer textModel = CLIPTextTransformer.load(w.child("text_model"), config);
        Linear projection = Linear.load(w.child("text_projection"), config.hiddenSize(), config.projectionDim(), false);
        w.requireAllUsed();
        return new CLIPTextModelWithProjection(textModel, projection);
    }

    public CLIPTextConfig config() {
        return textModel.config();
    }

    public CLIPTextTransformer textModel() {
        return textModel;
    }

    /** Last hidden state, pooled output and {@code text_embeds}; every hidden state when asked. */
    public CLIPTextOutput forward(NDArray inputIds, boolean outputHiddenStates) {
        CLIPTextOutput out = textModel.forward(inputIds, outputHiddenStates);
        NDArray textEmbeds = textProjection.forward(out.pooledOutput());
        return new CLIPTextOutput(out.lastHiddenState(), out.pooledOutput(), out.hiddenStates(), textEmbeds);
    }

    public CLIPTextOutput forward(NDArray inputIds) {
        return forward(inputIds, false);
    }
}
