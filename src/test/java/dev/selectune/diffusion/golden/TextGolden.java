package dev.selectune.diffusion.golden;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.clip.CLIPTextModel;
import dev.selectune.diffusion.clip.CLIPTextModelWithProjection;
import dev.selectune.diffusion.clip.CLIPTextOutput;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.TextEncoders;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;

import java.nio.file.Path;

import java.util.ArrayList;
import java.util.List;

/**
 * The text side: {@code text.*} for {@code tokenizer} + {@code text_encoder} and, for SDXL-like cases,
 * {@code text2.*} for {@code tokenizer_2} + {@code text_encoder_2}.
 *
 * <p>{@code <prefix>.input_ids} is the tokenizer applied to golden.json's {@code prompts} (padded to 77); every
 * other entry is an output of the text encoder run on those stored ids: {@code last_hidden_state},
 * {@code hidden_states.N}, {@code pooler_output} and, for a CLIPTextModelWithProjection, {@code text_embeds}.
 *
 * <p>SDXL's combined conditioning comes from the pipeline's own {@link TextEncoders} on each prompt (its tokenizers,
 * its truncated first-encoder run): {@code text.sdxl_prompt_embeds} is both encoders' penultimate hidden states
 * concatenated on the last dimension, {@code text.sdxl_pooled_prompt_embeds} the second encoder's
 * {@code text_embeds}, one row per prompt.
 */
public final class TextGolden implements GoldenFamily {
    static final String SDXL_PROMPT_EMBEDS = "text.sdxl_prompt_embeds";
    static final String SDXL_POOLED_PROMPT_EMBEDS = "text.sdxl_pooled_prompt_embeds";

    /** An encoder's entry prefix and the pipeline components it names. */
    record Encoder(String prefix, String tokenizer, String textEncoder) {
    }

    static final List<Encoder> ENCODERS = List.of(
            new Encoder("text", "tokenizer", "text_encoder"),
            new Encoder("text2", "tokenizer_2", "text_encoder_2"));

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        for (Encoder enc : ENCODERS) {
            String ids = enc.prefix() + ".input_ids";
            if (!run.has(ids)) {
                continue;
            }
            checks.add(GoldenCheck.of(ids, List.of(), () -> tokenize(run, enc)));
            for (String entry : run.entryNames()) {
                if (!entry.startsWith(enc.prefix() + ".") || entry.equals(ids)) {
                    continue;
                }
                String output = entry.substring(enc.prefix().length() + 1);
                if (output.equals("last_hidden_state") || output.equals("pooler_output")
                        || output.equals("text_embeds") || output.matches("hidden_states\\.\\d+")) {
                    checks.add(GoldenCheck.of(entry, List.of(ids), () -> select(encode(run, enc), output)));
                }
            }
        }
        for (String entry : List.of(SDXL_PROMPT_EMBEDS, SDXL_POOLED_PROMPT_EMBEDS)) {
            if (run.has(entry)) {
                int part = entry.equals(SDXL_PROMPT_EMBEDS) ? 0 : 1;
                checks.add(GoldenCheck.of(entry, List.of(), () -> pipelineEncoding(run).get(part)));
            }
        }
        return checks;
    }

    /**
     * [prompt embeds (P, 77, D1 + D2), pooled (P, projection)] for golden.json's P prompts, from the pipeline's
     * {@link TextEncoders}.
     */
    private static NDList pipelineEncoding(GoldenCaseRun run) {
        return run.memo("text:sdxl", () -> {
            TextEncoders encoders = run.own(run.folder().loadTextEncoders(Device.cpu(), DataType.FLOAT32));
            if (!encoders.isXl()) {
                throw new AssertionError(run.dir() + ": SDXL text entries in a case whose model_index.json is not SDXL");
            }
            NDList embeds = new NDList();
            NDList pooled = new NDList();
            for (String prompt : run.stringList("prompts")) {
                NDList one = encoders.encode(prompt, run.manager());
                embeds.add(one.get(0));
                pooled.add(one.get(1));
            }
            return new NDList(NDArrays.concat(embeds, 0), NDArrays.concat(pooled, 0));
        });
    }

    private static NDArray select(CLIPTextOutput out, String output) {
        return switch (output) {
            case "last_hidden_state" -> out.lastHiddenState();
            case "pooler_output" -> out.pooledOutput();
            case "text_embeds" -> {
                if (out.textEmbeds() == null) {
                    throw new AssertionError("text_embeds asked of an encoder without text_projection");
                }
                yield out.textEmbeds();
            }
            default -> out.hiddenState(Integer.parseInt(output.substring("hidden_states.".length())));
        };
    }

    /** The encoder's outputs, with every hidden state, for the stored input ids (run once per case). */
    private static CLIPTextOutput encode(GoldenCaseRun run, Encoder enc) {
        return run.memo("text-output:" + enc.textEncoder(), () -> {
            NDArray ids = run.tensor(enc.prefix() + ".input_ids");
            Path dir = run.folder().component(enc.textEncoder());
            NDManager weights = NDManager.newBaseManager(Device.cpu());
            if (run.folder().componentClass(enc.textEncoder()).equals("CLIPTextModelWithProjection")) {
                CLIPTextModelWithProjection model = CLIPTextModelWithProjection.load(dir, weights, DataType.FLOAT32);
                run.own(new Owned<>(model, weights));
                return model.forward(ids, true);
            }
            CLIPTextModel model = CLIPTextModel.load(dir, weights, DataType.FLOAT32);
            run.own(new Owned<>(model, weights));
            return model.forward(ids, true);
        });
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
