package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.LayerNorm;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.util.ArrayList;
import java.util.List;

/**
 * {@code text_model}: embeddings, the stack of {@link CLIPEncoderLayer}s with a causal mask, {@code final_layer_norm},
 * and the pooled output.
 *
 * <p>Pooling follows transformers 4.38: with the legacy {@code eos_token_id == 2} (what SD's configs carry) the
 * pooled row is at {@code argmax(input_ids)}, which is the first end-of-text token because it has the largest id;
 * otherwise it is the first position equal to {@code eos_token_id} (position 0 when there is none, as torch's argmax
 * of an all-false mask).
 */
public final class CLIPTextTransformer {
    /** torch.finfo(float32).min, transformers' value for masked scores. */
    private static final float MASKED = -Float.MAX_VALUE;

    private final CLIPTextConfig config;
    private final CLIPTextEmbeddings embeddings;
    private final List<CLIPEncoderLayer> layers;
    private final LayerNorm finalLayerNorm;
    private final DataType dtype;

    private CLIPTextTransformer(CLIPTextConfig config, CLIPTextEmbeddings embeddings, List<CLIPEncoderLayer> layers,
                                LayerNorm finalLayerNorm, DataType dtype) {
        this.dtype = dtype;
        this.config = config;
        this.embeddings = embeddings;
        this.layers = layers;
        this.finalLayerNorm = finalLayerNorm;
    }

    public static CLIPTextTransformer load(Weights w, CLIPTextConfig config) {
        CLIPTextEmbeddings embeddings = CLIPTextEmbeddings.load(w.child("embeddings"), config);
        List<CLIPEncoderLayer> layers = new ArrayList<>();
        Weights encoder = w.child("encoder").child("layers");
        for (int i = 0; i < config.numHiddenLayers(); i++) {
            layers.add(CLIPEncoderLayer.load(encoder.child(i), config));
        }
        LayerNorm finalNorm = LayerNorm.load(w.child("final_layer_norm"), config.hiddenSize(), config.layerNormEps());
        return new CLIPTextTransformer(config, embeddings, layers, finalNorm, w.dtype());
    }

    public CLIPTextConfig config() {
        return config;
    }

    /** The full forward: last hidden state and pooled output, plus every hidden state when asked. */
    public CLIPTextOutput forward(NDArray inputIds, boolean outputHiddenStates) {
        NDList out = Scopes.runList(() -> {
            NDArray mask = causalMask(inputIds);
            NDList hidden = new NDList();
            NDArray x = embeddings.forward(inputIds);
            hidden.add(x);
            for (CLIPEncoderLayer layer : layers) {
                NDArray next = layer.forward(x, mask);
                if (!outputHiddenStates) {
                    x.close(); // nobody asked for it: free it now rather than at the end of the scope
                    hidden.clear();
                }
                x = next;
                hidden.add(x);
            }
            NDArray last = finalLayerNorm.forward(x);
            NDArray pooled = pool(last, inputIds);
            NDList result = new NDList(last, pooled);
            if (outputHiddenStates) {
                result.addAll(hidden);
            }
            return result;
        });
        List<NDArray> hiddenStates = new ArrayList<>(out.subNDList(2));
        return new CLIPTextOutput(out.get(0), out.get(1), hiddenStates, null);
    }

    /**
     * hidden_states[index] alone (negative counts from the end), running only the layers it needs: SDXL conditions
     * on the penultimate layer, so its first encoder can skip the last layer and the final LayerNorm.
     */
    public NDArray hiddenState(NDArray inputIds, int index) {
        int count = layers.size() + 1;
        int resolved = index < 0 ? count + index : index;
        if (resolved < 0 || resolved >= count) {
            throw new IndexOutOfBoundsException("hidden state " + index + " of " + count);
        }
        return Scopes.run(() -> {
            NDArray mask = causalMask(inputIds);
            NDArray x = embeddings.forward(inputIds);
            for (int i = 0; i < resolved; i++) {
                x = layers.get(i).forward(x, mask);
            }
            return x;
        });
    }

    private NDArray pool(NDArray lastHiddenState, NDArray inputIds) {
        long[] ids = inputIds.toLongArray();
        int batch = (int) inputIds.getShape().get(0);
        int tokens = (int) inputIds.getShape().get(1);
        NDList rows = new NDList();
        for (int b = 0; b < batch; b++) {
            rows.add(lastHiddenState.get(b, poolPosition(ids, b * tokens, tokens)));
        }
        return NDArrays.stack(rows);
    }

    private int poolPosition(long[] ids, int offset, int tokens) {
        int best = 0;
        for (int i = 0; i < tokens; i++) {
            long id = ids[offset + i];
            if (config.eosTokenId() == 2) {
                if (id > ids[offset + best]) {
                    best = i;
                }
            } else if (id == config.eosTokenId()) {
                return i;
            }
        }
        return best;
    }

    /** (T, T): 0 where a token may attend (itself and earlier), MASKED above the diagonal. */
    private NDArray causalMask(NDArray inputIds) {
        int t = (int) inputIds.getShape().get(1);
        float[] mask = new float[t * t];
        for (int i = 0; i < t; i++) {
            for (int j = i + 1; j < t; j++) {
                mask[i * t + j] = MASKED;
            }
        }
        NDArray m = inputIds.getManager().create(mask, new Shape(t, t));
        // In fp16 the large negative becomes -inf, which softmax handles: every row keeps its diagonal.
        return Precision.cast(m, dtype);
    }
}
