package dev.selectune.diffusion.lora;

/** The key namings of UNet LoRA files that diffusers, ComfyUI and AUTOMATIC1111 read. */
public enum LoraFormat {
    /** diffusers with PEFT ({@code save_lora_weights}): {@code unet.<module path>.lora_A.weight} / {@code lora_B.weight}. */
    PEFT,
    /** diffusers before PEFT: {@code unet.<module path>.lora.down.weight} / {@code lora.up.weight}. */
    DIFFUSERS_LEGACY,
    /**
     * kohya sd-scripts (AUTOMATIC1111, ComfyUI): {@code lora_unet_<module path with '_' for '.'>.lora_down.weight},
     * {@code .lora_up.weight} and a scalar {@code .alpha}.
     */
    KOHYA
}
