package dev.selectune.evaluation.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;

import java.util.List;

/**
 * What a CLIP tokenizer returns for a batch of prompts padded to {@code length}: the ids, the attention mask
 * (1 for BOS, the tokens and the end-of-text token, 0 for padding) and the position of each end-of-text token,
 * where the text tower pools.
 */
public record TextInputs(int batch, int length, long[] ids, long[] attentionMask, long[] eosIndex) {

    public static TextInputs encode(ClipTokenizer tokenizer, List<String> prompts, int length) {
        long[] ids = new long[prompts.size() * length];
        long[] mask = new long[ids.length];
        long[] eos = new long[prompts.size()];
        for (int i = 0; i < prompts.size(); i++) {
            long[] row = tokenizer.inputIds(prompts.get(i), length);
            System.arraycopy(row, 0, ids, i * length, length);
            int end = 1; // the tokenizer writes BOS, at most length-2 tokens, then EOS: the first EOS after BOS
            while (row[end] != tokenizer.eosId()) {
                end++;
            }
            eos[i] = end;
            for (int j = 0; j <= end; j++) {
                mask[i * length + j] = 1;
            }
        }
        return new TextInputs(prompts.size(), length, ids, mask, eos);
    }

    public NDArray idsArray(NDManager manager) {
        return manager.create(ids, new Shape(batch, length));
    }
}
