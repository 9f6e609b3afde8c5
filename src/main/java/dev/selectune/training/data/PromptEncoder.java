package dev.selectune.training.data;

import ai.djl.ndarray.NDManager;

/** Encodes a prompt for the UNet at a given training resolution (SDXL's time ids name the size). */
@FunctionalInterface
public interface PromptEncoder {
    Conditioning encode(String prompt, int resolution, NDManager manager);
}
