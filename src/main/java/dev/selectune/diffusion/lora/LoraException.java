package dev.selectune.diffusion.lora;

/** A LoRA file that does not fit the UNet; the message names the file and the key at fault. */
public class LoraException extends RuntimeException {
    public LoraException(String message) {
        super(message);
    }
}
