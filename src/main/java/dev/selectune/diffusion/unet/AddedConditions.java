package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;

/**
 * SDXL's {@code added_cond_kwargs} for {@code addition_embed_type: text_time}.
 *
 * @param textEmbeds (B, pooled width) the pooled output of the second text encoder
 * @param timeIds    (B, 6) original size, crop top-left and target size
 */
public record AddedConditions(NDArray textEmbeds, NDArray timeIds) {
}
