package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;

/**
 * What {@code encode_prompt} returns for one prompt and its negative.
 *
 * @param promptEmbeds         (1, 77, D): SD 1.x/2.x the text encoder's last hidden state; SDXL both encoders'
 *                             penultimate hidden states concatenated (D = 768 + 1280)
 * @param negativePromptEmbeds the same for the negative prompt (zeros for SDXL's forced-zero empty negative)
 * @param pooledPromptEmbeds   SDXL: text_encoder_2's projected pooled output (1, 1280); null otherwise
 * @param negativePooledPromptEmbeds SDXL: the same for the negative prompt; null otherwise
 */
public record PromptEmbeddings(NDArray promptEmbeds, NDArray negativePromptEmbeds, NDArray pooledPromptEmbeds,
                               NDArray negativePooledPromptEmbeds) implements AutoCloseable {

    public boolean hasPooled() {
        return pooledPromptEmbeds != null;
    }

    /** The UNet conditioning for classifier-free guidance: the batch [negative, prompt]. */
    public NDArray guidedBatch() {
        return NDArrays.concat(new NDList(negativePromptEmbeds, promptEmbeds), 0);
    }

    /** SDXL's pooled conditioning for the batch [negative, prompt]; null without pooled embeddings. */
    public NDArray guidedPooledBatch() {
        return hasPooled() ? NDArrays.concat(new NDList(negativePooledPromptEmbeds, pooledPromptEmbeds), 0) : null;
    }

    @Override
    public void close() {
        for (NDArray a : new NDArray[] {promptEmbeds, negativePromptEmbeds, pooledPromptEmbeds, negativePooledPromptEmbeds}) {
            if (a != null) {
                a.close();
            }
        }
    }
}
