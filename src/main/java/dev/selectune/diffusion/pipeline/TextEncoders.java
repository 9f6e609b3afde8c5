package dev.selectune.diffusion.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.clip.CLIPTextModel;
import dev.selectune.diffusion.clip.CLIPTextModelWithProjection;
import dev.selectune.diffusion.clip.CLIPTextOutput;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.tokenizer.ClipTokenizer;

/**
 * The pipeline's tokenizer(s) and text encoder(s), and diffusers' {@code encode_prompt} on top of them.
 *
 * <ul>
 *   <li>SD 1.x / 2.x: the prompt's embedding is {@code text_encoder(ids).last_hidden_state}.</li>
 *   <li>SDXL / SSD-1B: both encoders run with hidden states; the embedding is the concatenation of their
 *       penultimate hidden states ({@code hidden_states[-2]}), and the pooled embedding is
 *       {@code text_encoder_2}'s projected {@code text_embeds}.</li>
 * </ul>
 * The encoders never train here, so everything runs with gradients off. The instance owns one manager holding
 * both encoders' weights; {@link #close()} frees them (the trainer encodes its prompts, then closes this).
 */
public final class TextEncoders implements AutoCloseable {
    private final NDManager manager;
    private final ClipTokenizer tokenizer;
    private final CLIPTextModel encoder;
    private final ClipTokenizer tokenizer2;
    private final CLIPTextModelWithProjection encoder2;

    private TextEncoders(NDManager manager, ClipTokenizer tokenizer, CLIPTextModel encoder, ClipTokenizer tokenizer2,
                         CLIPTextModelWithProjection encoder2) {
        this.manager = manager;
        this.tokenizer = tokenizer;
        this.encoder = encoder;
        this.tokenizer2 = tokenizer2;
        this.encoder2 = encoder2;
    }

    static TextEncoders load(PipelineFolder folder, Device device, Precision precision) {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            ClipTokenizer tokenizer = ClipTokenizer.load(folder.component("tokenizer"));
            CLIPTextModel encoder = CLIPTextModel.load(folder.component("text_encoder"), manager, precision);
            if (!folder.isXl()) {
                return new TextEncoders(manager, tokenizer, encoder, null, null);
            }
            ClipTokenizer tokenizer2 = ClipTokenizer.load(folder.component("tokenizer_2"));
            if (!folder.componentClass("text_encoder_2").equals("CLIPTextModelWithProjection")) {
                throw new PipelineException(folder.dir().resolve("model_index.json") + ": text_encoder_2 is "
                        + folder.componentClass("text_encoder_2") + ", but SDXL needs a CLIPTextModelWithProjection"
                        + " (its text_embeds are the pooled conditioning)");
            }
            CLIPTextModelWithProjection encoder2 = CLIPTextModelWithProjection.load(folder.component("text_encoder_2"),
                    manager, precision);
            return new TextEncoders(manager, tokenizer, encoder, tokenizer2, encoder2);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public boolean isXl() {
        return encoder2 != null;
    }

    /**
     * One prompt's conditioning, created in {@code into}: (1, 77, D) and, for SDXL, the pooled (1, P) second.
     */
    public NDList encode(String prompt, NDManager into) {
        // Token ids and every intermediate live in a scratch manager; only the results are copied out.
        try (NDManager scratch = into.newSubManager()) {
            return Autograd.noGrad(() -> {
                if (!isXl()) {
                    CLIPTextOutput out = encoder.forward(ids(tokenizer, prompt, scratch), false);
                    return new NDList(keep(out.lastHiddenState(), into));
                }
                // The first encoder's penultimate layer is all SDXL reads from it, so its last layer never runs.
                NDArray first = encoder.hiddenState(ids(tokenizer, prompt, scratch), -2);
                CLIPTextOutput second = encoder2.forward(ids(tokenizer2, prompt, scratch), true);
                NDArray embeds = NDArrays.concat(new NDList(first, second.hiddenState(-2)), -1);
                return new NDList(keep(embeds, into), keep(second.textEmbeds(), into));
            });
        }
    }

    /**
     * diffusers' {@code encode_prompt} for one prompt and its negative. With {@code zerosForEmptyNegative} (SDXL's
     * {@code force_zeros_for_empty_prompt}) an empty negative prompt becomes zeros instead of the encoded "".
     */
    public PromptEmbeddings encodePrompt(String prompt, String negativePrompt, boolean zerosForEmptyNegative,
                                         NDManager into) {
        NDList positive = encode(prompt, into);
        NDList negative;
        if (zerosForEmptyNegative && (negativePrompt == null || negativePrompt.isEmpty())) {
            negative = new NDList();
            for (NDArray a : positive) {
                negative.add(a.zerosLike());
            }
        } else {
            negative = encode(negativePrompt == null ? "" : negativePrompt, into);
        }
        return isXl()
                ? new PromptEmbeddings(positive.get(0), negative.get(0), positive.get(1), negative.get(1))
                : new PromptEmbeddings(positive.get(0), negative.get(0), null, null);
    }

    private static NDArray ids(ClipTokenizer tokenizer, String prompt, NDManager into) {
        long[] ids = tokenizer.inputIds(prompt);
        return into.create(ids, new Shape(1, ids.length));
    }

    /** Copies a result into the caller's manager (the original dies with the scratch manager). */
    private static NDArray keep(NDArray a, NDManager into) {
        NDArray copy = a.duplicate();
        copy.attach(into);
        return copy;
    }

    public ClipTokenizer tokenizer() {
        return tokenizer;
    }

    @Override
    public void close() {
        manager.close();
    }
}
