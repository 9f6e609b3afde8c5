package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * A trainable term added to a frozen {@link Linear}'s output, y = W x + b + delta(x): how a LoRA adapter plugs in
 * without the layer knowing about LoRA.
 */
public interface LinearAdapter {
    /** delta(x) for x (..., in): (..., out), a new array the caller closes. */
    NDArray apply(NDArray x);
}
