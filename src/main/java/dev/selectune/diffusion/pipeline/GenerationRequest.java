package dev.selectune.diffusion.pipeline;

import dev.selectune.util.Problem;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * One text-to-image call: diffusers' {@code StableDiffusionPipeline.__call__} arguments that Selectune exposes.
 *
 * @param negativePrompt "" means the empty prompt (the diffusers default); SDXL turns it into zeros when the folder
 *                       sets {@code force_zeros_for_empty_prompt}
 * @param guidanceScale  classifier-free guidance weight; at or below 1 the unconditional pass is skipped, as diffusers does
 * @param seed           seeds the Java generators of the initial latents and of an ancestral sampler's step noise
 *                       (torch's global RNG is never used)
 * @param loraFile       optional UNet LoRA (PEFT, old diffusers or kohya naming), null for none
 * @param loraScale      the user's LoRA strength ({@code cross_attention_kwargs={"scale": s}})
 */
public record GenerationRequest(String prompt, String negativePrompt, int width, int height, int steps,
                                float guidanceScale, long seed, Path loraFile, float loraScale) {

    public GenerationRequest {
        negativePrompt = negativePrompt == null ? "" : negativePrompt;
    }

    /** The request with a different LoRA (null to remove it). */
    public GenerationRequest withLora(Path file, float scale) {
        return new GenerationRequest(prompt, negativePrompt, width, height, steps, guidanceScale, seed, file, scale);
    }

    public boolean guided() {
        return guidanceScale > 1f;
    }

    /**
     * What is wrong with this request for a pipeline whose image size must be a multiple of {@code sizeMultiple}
     * (the VAE's downscale factor), as messages naming the field; empty when it is valid.
     */
    public List<Problem> problems(int sizeMultiple) {
        List<Problem> out = new ArrayList<>();
        if (prompt == null) {
            out.add(new Problem("prompt", "required"));
        }
        if (width <= 0 || width % sizeMultiple != 0) {
            out.add(new Problem("width", width + " is not a positive multiple of " + sizeMultiple));
        }
        if (height <= 0 || height % sizeMultiple != 0) {
            out.add(new Problem("height", height + " is not a positive multiple of " + sizeMultiple));
        }
        if (steps < 1 || steps > 1000) {
            out.add(new Problem("steps", steps + " is outside 1..1000"));
        }
        if (!Float.isFinite(guidanceScale) || guidanceScale < 0) {
            out.add(new Problem("guidance", guidanceScale + " must be a finite number >= 0"));
        }
        if (!Float.isFinite(loraScale)) {
            out.add(new Problem("lora_scale", loraScale + " must be finite"));
        }
        return out;
    }
}
