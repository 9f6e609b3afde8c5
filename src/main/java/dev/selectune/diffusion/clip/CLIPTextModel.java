package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Weights;

import java.nio.file.Path;

/**
 * transformers' {@code CLIPTextModel}: the text encoder of SD 1.x and 2.x and SDXL's first encoder. Weights are
 * the {@code text_model.*} keys of {@code text_encoder/model.safetensors}; a key the config does not account for
 * fails the load.
 */
public final class CLIPTextModel {
    private final CLIPTextTransformer textModel;

    private CLIPTextModel(CLIPTextTransformer textModel) {
        this.textModel = textModel;
    }

    /** Loads {@code config.json} and {@code model[.fp16].safetensors} from a pipeline's text encoder folder. */
    public static CLIPTextModel load(Path componentDir, NDManager manager, DataType dtype) {
        return load(componentDir, manager, Precision.of(dtype));
    }

    /** As {@link #load(Path, NDManager, DataType)}, with the weights held as {@code precision} says. */
    public static CLIPTextModel load(Path componentDir, NDManager manager, Precision precision) {
        CLIPTextConfig config = CLIPTextConfig.load(componentDir.resolve("config.json"));
        try (Weights w = Weights.open(componentDir, "model", manager, precision)) {
            return load(config, w);
        }
    }

    /** Builds the model from {@code w} (a checkpoint, or random weights for benchmarks) and checks every key was used. */
    public static CLIPTextModel load(CLIPTextConfig config, Weights w) {
        CLIPTextModel model = new CLIPTextModel(CLIPTextTransformer.load(w.child("text_model"), config));
        w.requireAllUsed();
        return model;
    }

    public CLIPTextConfig config() {
        return textModel.config();
    }

    public CLIPTextTransformer textModel() {
        return textModel;
    }

    /** Last hidden state and pooled output. */
    public CLIPTextOutput forward(NDArray inputIds) {
        return textModel.forward(inputIds, false);
    }

    /** As {@link #forward(NDArray)}, with every hidden state when {@code outputHiddenStates}. */
    public CLIPTextOutput forward(NDArray inputIds, boolean outputHiddenStates) {
        return textModel.forward(inputIds, outputHiddenStates);
    }

    /** hidden_states[index] alone, running only the layers it needs (negative indices count from the end). */
    public NDArray hiddenState(NDArray inputIds, int index) {
        return textModel.hiddenState(inputIds, index);
    }
}
