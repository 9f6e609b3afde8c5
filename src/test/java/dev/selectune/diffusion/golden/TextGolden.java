package dev.selectune.diffusion.golden;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;

import java.util.ArrayList;
import java.util.List;

/**
 * The text side: {@code text.*} for {@code tokenizer} + {@code text_encoder}, and, for SDXL-like cases,
 * {@code text_2.*} (or {@code text_encoder_2.*}) for {@code tokenizer_2} + {@code text_encoder_2}.
 *
 * <p>{@code <prefix>.input_ids} is the tokenizer applied to golden.json's {@code prompts} (padded to 77); every
 * other entry is an output of the text encoder run on those stored ids: {@code last_hidden_state},
 * {@code hidden_states.N}, {@code pooler_output} and, for a CLIPTextModelWithProjection, {@code text_embeds}.
 */
public final class TextGolden implements GoldenFamily {

    /** An encoder's entry prefix and the pipeline components it names. */
    record Encoder(String prefix, String tokenizer, String textEncoder) {
    }

    static final List<Encoder> ENCODERS = List.of(
            new Encoder("text", "tokenizer", "text_encoder"),
            new Encoder("text_2", "tokenizer_2", "text_encoder_2"),
            new Encoder("text_encoder_2", "tokenizer_2", "text_encoder_2"));

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        for (Encoder enc : ENCODERS) {
            String ids = enc.prefix() + ".input_ids";
            if (run.has(ids)) {
                checks.add(GoldenCheck.of(ids, List.of(), () -> tokenize(run, enc)));
            }
        }
        return checks;
    }

    private static NDArray tokenize(GoldenCaseRun run, Encoder enc) {
        ClipTokenizer tokenizer = tokenizer(run, enc);
        List<String> prompts = run.stringList("prompts");
        int length = tokenizer.modelMaxLength();
        long[] flat = new long[prompts.size() * length];
        for (int i = 0; i < prompts.size(); i++) {
            System.arraycopy(tokenizer.inputIds(prompts.get(i)), 0, flat, i * length, length);
        }
        return run.manager().create(flat, new Shape(prompts.size(), length));
    }

    static ClipTokenizer tokenizer(GoldenCaseRun run, Encoder enc) {
        return run.memo("tokenizer:" + enc.tokenizer(), () -> ClipTokenizer.load(run.folder().component(enc.tokenizer())));
    }
}
