package dev.selectune.diffusion.safetensors;

/** A safetensors file that cannot be read or written; the message names the file and, where known, the key. */
public class SafeTensorsException extends RuntimeException {
    public SafeTensorsException(String message) {
        super(message);
    }

    public SafeTensorsException(String message, Throwable cause) {
        super(message, cause);
    }
}
