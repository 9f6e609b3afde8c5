package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;

import java.util.List;

/**
 * The outputs of a CLIP text encoder forward, as transformers names them.
 *
 * @param lastHiddenState (B, T, D) after {@code final_layer_norm}
 * @param pooledOutput    (B, D): the row of lastHiddenState at each sequence's end-of-text token
 * @param hiddenStates    when asked for: entry 0 is the embedding output, entry i the output of layer i-1 (before
 *                        the final LayerNorm); otherwise empty
 * @param textEmbeds      (B, projection_dim) for {@link CLIPTextModelWithProjection}, else null
 */
public record CLIPTextOutput(NDArray lastHiddenState, NDArray pooledOutput, List<NDArray> hiddenStates,
                             NDArray textEmbeds) implements AutoCloseable {

    /** hidden_states[index], negative indices counting from the end as in Python (-2 is SDXL's penultimate layer). */
    public NDArray hiddenState(int index) {
        if (hiddenStates.isEmpty()) {
            throw new IllegalStateException("hidden states were not requested in this forward");
        }
        return hiddenStates.get(index < 0 ? hiddenStates.size() + index : index);
    }

    @Override
    public void close() {
        lastHiddenState.close();
        pooledOutput.close();
        hiddenStates.forEach(NDArray::close);
        if (textEmbeds != null) {
            textEmbeds.close();
        }
    }
}
