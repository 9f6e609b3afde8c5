package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDScope;

import java.util.function.Supplier;

/**
 * Frees a module's intermediate tensors as soon as the module returns.
 *
 * <p>DJL frees native memory only on {@code close()}; without this a no-grad UNet forward would keep every
 * activation alive until the step's manager closes, and its peak would be the sum of all activations instead of
 * the largest few. Under autograd the graph keeps its own references to the tensors it saved, so closing the Java
 * handles is safe there too.
 */
public final class Scopes {
    private Scopes() {
    }

    /**
     * Runs {@code body}, closes every tensor it created except the result, and hands the result to the caller's scope.
     * A null result (a fused kernel that declined) is passed through.
     */
    public static NDArray run(Supplier<NDArray> body) {
        NDArray out;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            out = body.get();
            if (out != null) {
                NDScope.unregister(out);
            }
        }
        if (out != null) {
            NDScope.register(out);
        }
        return out;
    }

    /** As {@link #run(Supplier)} for a module with several outputs. */
    public static NDList runList(Supplier<NDList> body) {
        NDList out;
        try (NDScope scope = new NDScope()) {
            scope.suppressNotUsedWarning();
            out = body.get();
            NDScope.unregister(out);
        }
        for (NDArray a : out) {
            NDScope.register(a);
        }
        return out;
    }
}
