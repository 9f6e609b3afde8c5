package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.SparseFormat;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

/** {@code text_model.embeddings}: token embedding plus learned absolute position embedding (positions 0..T-1). */
public final class CLIPTextEmbeddings {
    private final NDArray tokenEmbedding;
    private final NDArray positionEmbedding;
    private final DataType computeType;

    private CLIPTextEmbeddings(NDArray tokenEmbedding, NDArray positionEmbedding, DataType computeType) {
        this.tokenEmbedding = tokenEmbedding;
        this.positionEmbedding = positionEmbedding;
        this.computeType = computeType;
    }

    public static CLIPTextEmbeddings load(Weights w, CLIPTextConfig config) {
        NDArray token = w.get("token_embedding.weight", config.vocabSize(), config.hiddenSize());
        NDArray position = w.get("position_embedding.weight", config.maxPositionEmbeddings(), config.hiddenSize());
        // Some checkpoints store the constant position_ids buffer (arange); it carries nothing, but it is theirs.
        if (w.has("position_ids") && !w.isRandom()) {
            w.get("position_ids", 1, config.maxPositionEmbeddings()).close();
        }
        return new CLIPTextEmbeddings(token, position, w.dtype());
    }

    private NDArray compute(NDArray rows) {
        return Precision.cast(rows, computeType);
    }

    /** @param inputIds (B, T) integer ids, T at most max_position_embeddings; returns (B, T, D) */
    public NDArray forward(NDArray inputIds) {
        long tokens = inputIds.getShape().get(1);
        if (tokens > positionEmbedding.getShape().get(0)) {
            throw new IllegalArgumentException("sequence of " + tokens + " tokens is longer than max_position_embeddings "
                    + positionEmbedding.getShape().get(0));
        }
        return Scopes.run(() -> {
            NDArray ids = Precision.cast(inputIds, DataType.INT64);
            NDArray embedded = ai.djl.nn.core.Embedding.embedding(ids, tokenEmbedding, SparseFormat.DENSE).singletonOrThrow();
            NDArray positions = positionEmbedding.get("0:{}", tokens);
            // Tables held in half precision (Precision.held) are looked up first and only the rows used are cast.
            return compute(embedded).add(compute(positions));
        });
    }
}
