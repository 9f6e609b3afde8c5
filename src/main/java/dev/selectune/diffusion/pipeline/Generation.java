package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;

/**
 * The results of one {@link StableDiffusionPipeline#generate} call, in the caller's manager.
 *
 * @param embeddings the prompt conditioning that was used
 * @param latents    the final latents (1, C, h, w), FLOAT32
 * @param imageRaw   {@code vae.decode(latents / scaling_factor)}, (1, 3, H, W), FLOAT32
 * @param image      {@code clamp(imageRaw / 2 + 0.5, 0, 1)}
 */
public record Generation(PromptEmbeddings embeddings, NDArray latents, NDArray imageRaw, NDArray image) {
}
