package dev.selectune.training.data;

import ai.djl.ndarray.NDArray;

/**
 * A prompt as the UNet takes it, encoded once before training.
 *
 * @param hiddenStates the text encoder states (1, 77, cross_attention_dim)
 * @param pooled       SDXL: text_encoder_2's pooled projection (1, 1280); null for SD1.x/2.x
 * @param timeIds      SDXL: add_time_ids (1, 6) for the resolution the latents have; null for SD1.x/2.x
 */
public record Conditioning(NDArray hiddenStates, NDArray pooled, NDArray timeIds) {
    public static Conditioning of(NDArray hiddenStates) {
        return new Conditioning(hiddenStates, null, null);
    }
}
