package dev.selectune.diffusion.nn;

/** A weight that is missing, misshapen or left over; the message names the file and the key. */
public class WeightsException extends RuntimeException {
    public WeightsException(String message) {
        super(message);
    }
}
