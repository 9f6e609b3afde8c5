package dev.selectune.diffusion.golden;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.pipeline.Generation;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.PromptEmbeddings;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

/**
 * The end-to-end pipeline with golden.json's {@code pipeline_call} (prompt, negative prompt, size, steps, guidance)
 * and the scheduler of the case folder:
 * <ul>
 *   <li>{@code pipe.prompt_embeds}, {@code pipe.negative_prompt_embeds} and, for SDXL, {@code pipe.pooled_prompt_embeds},
 *       {@code pipe.negative_pooled_prompt_embeds}, {@code pipe.add_time_ids} (and {@code pipe.negative_add_time_ids}):
 *       encode_prompt and the added time ids;</li>
 *   <li>{@code pipe.latents_out}, {@code pipe.image_raw}, {@code pipe.image} from the stored initial latents
 *       {@code pipe.latents_in}.</li>
 * </ul>
 */
public final class PipelineGolden implements GoldenFamily {

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        embeddingCheck(run, checks, "pipe.prompt_embeds", PromptEmbeddings::promptEmbeds);
        embeddingCheck(run, checks, "pipe.negative_prompt_embeds", PromptEmbeddings::negativePromptEmbeds);
        embeddingCheck(run, checks, "pipe.pooled_prompt_embeds", PromptEmbeddings::pooledPromptEmbeds);
        embeddingCheck(run, checks, "pipe.negative_pooled_prompt_embeds", PromptEmbeddings::negativePooledPromptEmbeds);
        for (String entry : List.of("pipe.add_time_ids", "pipe.negative_add_time_ids")) {
            if (run.has(entry)) {
                checks.add(GoldenCheck.of(entry, List.of(), () -> {
                    JsonObject call = call(run);
                    NDArray ids = StableDiffusionPipeline.addTimeIds(call.get("height").getAsInt(),
                            call.get("width").getAsInt(), run.manager());
                    // The reference may store one row or the guided batch of two identical rows.
                    return ids.broadcast(run.tensor(entry).getShape());
                }));
            }
        }
        List<String> latentsIn = List.of("pipe.latents_in");
        if (run.has("pipe.latents_out")) {
            checks.add(GoldenCheck.of("pipe.latents_out", latentsIn, () -> generation(run).latents()));
        }
        if (run.has("pipe.image_raw")) {
            checks.add(GoldenCheck.of("pipe.image_raw", latentsIn, () -> generation(run).imageRaw()));
        }
        if (run.has("pipe.image")) {
            checks.add(GoldenCheck.of("pipe.image", latentsIn, () -> generation(run).image()));
        }
        return checks;
    }

    private static void embeddingCheck(GoldenCaseRun run, List<GoldenCheck> checks, String entry,
                                       Function<PromptEmbeddings, NDArray> part) {
        if (run.has(entry)) {
            checks.add(GoldenCheck.of(entry, List.of(), () -> {
                NDArray value = part.apply(embeddings(run));
                if (value == null) {
                    throw new AssertionError("this pipeline has no " + entry.substring("pipe.".length()));
                }
                return value;
            }));
        }
    }

    private static StableDiffusionPipeline pipeline(GoldenCaseRun run) {
        return run.memo("model:pipeline", () -> run.own(
                StableDiffusionPipeline.load(run.dir(), Device.cpu(), DataType.FLOAT32)));
    }

    private static JsonObject call(GoldenCaseRun run) {
        JsonElement call = run.json().get("pipeline_call");
        if (call == null || !call.isJsonObject()) {
            throw new AssertionError(run.dir().resolve("golden.json") + ": no pipeline_call object");
        }
        return call.getAsJsonObject();
    }

    private static GenerationRequest request(GoldenCaseRun run) {
        JsonObject c = call(run);
        if (c.has("eta") && c.get("eta").getAsDouble() != 0) {
            throw new AssertionError("pipeline_call eta " + c.get("eta") + ": only deterministic sampling (eta 0) is implemented");
        }
        String negative = c.has("negative_prompt") && !c.get("negative_prompt").isJsonNull()
                ? c.get("negative_prompt").getAsString() : "";
        return new GenerationRequest(c.get("prompt").getAsString(), negative, c.get("width").getAsInt(),
                c.get("height").getAsInt(), c.get("num_inference_steps").getAsInt(),
                c.get("guidance_scale").getAsFloat(), 0L, null, 1f);
    }

    private static PromptEmbeddings embeddings(GoldenCaseRun run) {
        return run.memo("pipe:embeddings", () -> {
            GenerationRequest r = request(run);
            return pipeline(run).encodePrompt(r.prompt(), r.negativePrompt(), run.manager());
        });
    }

    private static Generation generation(GoldenCaseRun run) {
        return run.memo("pipe:generation",
                () -> pipeline(run).generate(request(run), run.tensor("pipe.latents_in"), run.manager()));
    }
}
