/**
 * Diffusers pipeline folders and text-to-image.
 *
 * <ul>
 *   <li>{@link dev.selectune.diffusion.pipeline.PipelineFolder}: validates a folder whole before any weight loads,
 *       then loads components one by one ({@code loadTextEncoders}, {@code loadUnet}, {@code loadVae}), each owning
 *       its weights, so the trainer can keep only the UNet resident.</li>
 *   <li>{@link dev.selectune.diffusion.pipeline.StableDiffusionPipeline}: diffusers' {@code StableDiffusionPipeline}
 *       and {@code StableDiffusionXLPipeline} call: encode_prompt, classifier-free guidance, the folder's scheduler,
 *       an optional LoRA, VAE decode, PNG.</li>
 *   <li>{@link dev.selectune.diffusion.pipeline.ModelInfo}: what a folder is (family, resolution, prediction type),
 *       from its JSON files alone.</li>
 * </ul>
 */
package dev.selectune.diffusion.pipeline;
