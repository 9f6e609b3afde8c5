/**
 * diffusers' {@code AutoencoderKL} as Stable Diffusion uses it: {@link dev.selectune.diffusion.vae.AutoencoderKL}
 * (config-driven from {@link dev.selectune.diffusion.vae.VaeConfig}) with its {@code Encoder} and {@code Decoder},
 * built from the shared blocks of {@code dev.selectune.diffusion.models} under diffusers' module paths
 * ({@code encoder.down_blocks.0.resnets.0.conv1}, {@code decoder.mid_block.attentions.0.to_q}, ...). The VAE never
 * trains here: encode and decode always run without gradients.
 */
package dev.selectune.diffusion.vae;
