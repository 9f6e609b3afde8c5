package dev.selectune.evaluation;

import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.pipeline.Generation;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.PngImages;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;

import java.awt.image.BufferedImage;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/** Generates the evaluation images of {@link EvaluationSettings} with a pipeline, with or without a LoRA. */
public final class SampleGenerator {
    private SampleGenerator() {
    }

    /** Thrown between two images when the caller's cancellation check says so. */
    public static final class Cancelled extends RuntimeException {
        public Cancelled() {
            super("evaluation cancelled");
        }
    }

    /**
     * The images in prompt-major order (prompt 0 seeds s..s+n-1, prompt 1 the same seeds, ...).
     *
     * @param lora      a LoRA file, or null for the bare base model
     * @param cancelled checked before each image
     */
    public static List<BufferedImage> generate(StableDiffusionPipeline pipeline, Path lora, EvaluationSettings s,
                                               BooleanSupplier cancelled) {
        int size = s.size() > 0 ? s.size() : pipeline.folder().info().nativeResolution();
        List<BufferedImage> out = new ArrayList<>();
        for (String prompt : s.prompts()) {
            for (int j = 0; j < s.imagesPerPrompt(); j++) {
                if (cancelled.getAsBoolean()) {
                    throw new Cancelled();
                }
                GenerationRequest request = new GenerationRequest(prompt, "", size, size, s.steps(), s.guidance(),
                        s.seed() + j, lora, 1f);
                try (NDManager work = NDManager.newBaseManager(pipeline.device())) {
                    Generation g = pipeline.generate(request, null, work);
                    out.add(PngImages.toImage(g.image()));
                }
            }
        }
        return out;
    }
}
