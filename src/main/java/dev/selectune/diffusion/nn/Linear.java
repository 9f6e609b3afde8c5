package dev.selectune.diffusion.nn;

import ai.djl.ndarray.NDArray;

/**
 * {@code torch.nn.Linear}: y = x W^T + b over the last axis, optionally with an adapter's term added,
 * y = W x + b + delta(x) (a LoRA adapter: delta(x) = scale * B (A x)). The base weight is frozen; only an attached adapter trains. A weight held in
 * another dtype than the input's (fp16 on the CPU) is cast for the op ({@link Precision#withType}).
 */
public final class Linear {
    private final String path;
    private final NDArray weight;
    private final NDArray bias;
    private final long inFeatures;
    private final long outFeatures;
    private LinearAdapter adapter;

    public Linear(String path, NDArray weight, NDArray bias) {
        this.path = path;
        this.weight = weight;
        this.bias = bias;
        this.outFeatures = weight.getShape().get(0);
        this.inFeatures = weight.getShape().get(1);
    }

    /** Loads {@code weight} (out, in) and, when {@code withBias}, {@code bias} (out) from {@code w}. */
    public static Linear load(Weights w, long in, long out, boolean withBias) {
        NDArray weight = w.get("weight", out, in);
        NDArray bias = withBias ? w.get("bias", out) : null;
        return new Linear(w.key("").replaceAll("\\.$", ""), weight, bias);
    }

    public NDArray forward(NDArray x) {
        NDArray y = OpProfile.time(OpProfile.Kind.LINEAR, () -> Precision.withType(weight, x.getDataType(),
                w -> ai.djl.nn.core.Linear.linear(x, w, bias).singletonOrThrow()));
        if (adapter == null) {
            return y;
        }
        try (NDArray delta = adapter.apply(x)) {
            return y.add(delta);
        } finally {
            y.close();
        }
    }

    /** The module path, e.g. {@code down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q}. */
    public String path() {
        return path;
    }

    public long inFeatures() {
        return inFeatures;
    }

    public long outFeatures() {
        return outFeatures;
    }

    public NDArray weight() {
        return weight;
    }

    public NDArray bias() {
        return bias;
    }

    /** The attached adapter, or null. */
    public LinearAdapter adapter() {
        return adapter;
    }

    public void setAdapter(LinearAdapter adapter) {
        this.adapter = adapter;
    }
}
