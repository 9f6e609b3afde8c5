package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * The outputs of an image tower, as transformers names them.
 *
 * @param lastHiddenState (B, T, D): CLIP's before {@code post_layernorm}, ViT's after the final {@code layernorm}
 * @param pooledOutput    (B, D): CLIP's {@code post_layernorm(last[:, 0])}; ViT's CLS row {@code last[:, 0]}
 * @param hiddenStates    entry 0 the embeddings (CLIP: after {@code pre_layrnorm}), entry i the output of layer
 *                        i-1; empty unless asked for
 */
public record VisionOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates)
        implements AutoCloseable {

    @Override
    public void close() {
        lastHiddenState.close();
        pooledOutput.close();
        hiddenStates.forEach(NDArray::close);
    }
}
