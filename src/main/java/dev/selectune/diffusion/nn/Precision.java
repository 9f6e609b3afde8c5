package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;

import java.util.function.Function;

/**
 * The two dtypes of a frozen model: {@code compute}, which activations (and LoRA adapters) run in, and {@code held},
 * which its weight matrices, kernels and embedding tables are kept in. Holding FLOAT16 while computing in FLOAT32
 * halves the resident weights on the CPU, where half-precision arithmetic is slow: each layer upcasts its weight for
 * the one op that uses it. One-dimensional tensors (biases, norm scales) stay in {@code compute}: they are a tiny
 * share of the bytes.
 */
public record Precision(DataType compute, DataType held) {
    public Precision {
        if (!compute.isFloating() || !held.isFloating()) {
            throw new IllegalArgumentException("precision needs floating types, got compute " + compute + ", held " + held);
        }
    }

    /** Weights held in the dtype they compute in (no casts). */
    public static Precision of(DataType dtype) {
        return new Precision(dtype, dtype);
    }

    /** True when weights are held in another dtype than the compute one (fp16-held on the CPU). */
    public boolean holdsOtherType() {
        return compute != held;
    }

    /**
     * {@code x} in {@code type}: {@code x} itself when it already is, else a new copy. A dtype cast cuts DJL's
     * autograd graph (the copy has no history), so this is for inputs, targets, masks and frozen tensors, never for a
     * tensor that a gradient must flow back through; every cast of that kind goes through here or {@link #withType}.
     */
    public static NDArray cast(NDArray x, DataType type) {
        return x.getDataType() == type ? x : x.toType(type, false);
    }

    /**
     * {@code op(weight)} with {@code weight} in {@code type}: the held tensor itself when it already is, else a copy
     * that is closed as soon as {@code op} returns, so at most one layer's upcast weight is resident outside a graph.
     * The copy is not in the autograd graph (a cast cuts it), which is right for frozen weights; a graph that saved
     * the copy for its backward keeps its own reference.
     */
    public static NDArray withType(NDArray weight, DataType type, Function<NDArray, NDArray> op) {
        if (weight.getDataType() == type) {
            return op.apply(weight);
        }
        try (NDArray cast = OpProfile.time(OpProfile.Kind.COPIES, () -> weight.toType(type, false))) {
            return op.apply(cast);
        }
    }
}
