package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.LinearAdapter;
import dev.selectune.diffusion.nn.Scalars;
import dev.selectune.diffusion.nn.Scopes;

/**
 * A rank-r adapter on one linear layer: delta(x) = (alpha / r) * userScale * B (A x), with A = lora_A = lora.down
 * (r, in) and B = lora_B = lora.up (out, r), as PEFT's {@code lora.Linear} with dropout 0.
 *
 * <p>The trainable parameters ({@link #down()}, {@link #up()}) are always FLOAT32 masters. When the frozen base runs
 * in FLOAT16 (GPU), the forward uses FLOAT16 working copies instead, because a dtype cast would cut the autograd
 * graph in DJL; after a backward the trainer reads the working copies' gradients, updates the masters, and calls
 * {@link #syncWorkingCopies()}. In FLOAT32 the working copies are the masters themselves.
 */
public final class LoraAdapter implements LinearAdapter {
    private final String modulePath;
    private final int rank;
    private final float alpha;
    private final NDArray down;
    private final NDArray up;
    private final DataType computeType;
    private NDArray workingDown;
    private NDArray workingUp;
    private float userScale = 1f;

    /**
     * @param modulePath the UNet module path, e.g. {@code mid_block.attentions.0.transformer_blocks.0.attn1.to_q}
     * @param down       A, (rank, in), FLOAT32
     * @param up         B, (out, rank), FLOAT32
     */
    public LoraAdapter(String modulePath, int rank, float alpha, NDArray down, NDArray up, DataType computeType) {
        if (down.getShape().get(0) != rank || up.getShape().get(1) != rank) {
            throw new IllegalArgumentException(modulePath + ": LoRA shapes " + down.getShape() + " / " + up.getShape()
                    + " do not have rank " + rank);
        }
        this.modulePath = modulePath;
        this.rank = rank;
        this.alpha = alpha;
        this.down = down;
        this.up = up;
        this.computeType = computeType;
        syncWorkingCopies();
    }

    public String modulePath() {
        return modulePath;
    }

    public int rank() {
        return rank;
    }

    public float alpha() {
        return alpha;
    }

    /** The FLOAT32 master of A (lora_A / lora.down), (rank, in). */
    public NDArray down() {
        return down;
    }

    /** The FLOAT32 master of B (lora_B / lora.up), (out, rank). */
    public NDArray up() {
        return up;
    }

    /** The tensors the forward uses: the masters in FLOAT32, FLOAT16 copies otherwise. Gradients land on these. */
    public NDArray workingDown() {
        return workingDown;
    }

    public NDArray workingUp() {
        return workingUp;
    }

    /** The user's strength at inference (diffusers' {@code cross_attention_kwargs={"scale": s}}); 1 for training. */
    public void setUserScale(float userScale) {
        this.userScale = userScale;
    }

    public float scale() {
        return alpha / rank * userScale;
    }

    /** Refreshes the FLOAT16 working copies from the masters (no-op in FLOAT32). */
    public void syncWorkingCopies() {
        if (computeType == DataType.FLOAT32 || computeType == down.getDataType()) {
            workingDown = down;
            workingUp = up;
            return;
        }
        boolean train = workingDown != null && workingDown.hasGradient();
        if (workingDown != null && workingDown != down) {
            workingDown.close();
            workingUp.close();
        }
        workingDown = Autograd.noGrad(() -> down.toType(computeType, true));
        workingUp = Autograd.noGrad(() -> up.toType(computeType, true));
        workingDown.attach(down.getManager());
        workingUp.attach(up.getManager());
        if (train) {
            workingDown.setRequiresGradient(true);
            workingUp.setRequiresGradient(true);
        }
    }

    /** scale * B (A x) for x (..., in). */
    @Override
    public NDArray apply(NDArray x) {
        return Scopes.run(() -> {
            NDArray ax = ai.djl.nn.core.Linear.linear(x, workingDown).singletonOrThrow();
            NDArray bax = ai.djl.nn.core.Linear.linear(ax, workingUp).singletonOrThrow();
            float s = scale();
            return s == 1f ? bax : Scalars.mul(bax, s);
        });
    }

    public long parameterCount() {
        return down.size() + up.size();
    }
}
