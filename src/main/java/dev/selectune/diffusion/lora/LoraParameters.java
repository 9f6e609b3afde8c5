package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Autograd;

import java.util.ArrayList;
import java.util.List;

/**
 * The trainable tensors of a set of LoRA adapters in a fixed order (A then B per adapter, adapters in the order
 * given), named {@code <module path>.lora_A.weight} and {@code <module path>.lora_B.weight} (a PEFT file's keys
 * without the {@code unet.} prefix). The optimizers update the FLOAT32 masters; the forward and backward use the
 * working copies (the masters themselves in FLOAT32, FLOAT16 copies on a GPU), so gradients are read from the working
 * copies and the copies are re-synced after every update.
 */
public final class LoraParameters {
    private final List<LoraAdapter> adapters;
    private final List<String> names = new ArrayList<>();

    public LoraParameters(List<LoraAdapter> adapters) {
        if (adapters.isEmpty()) {
            throw new IllegalArgumentException("no LoRA adapters to train");
        }
        this.adapters = List.copyOf(adapters);
        for (LoraAdapter a : adapters) {
            names.add(a.modulePath() + ".lora_A.weight");
            names.add(a.modulePath() + ".lora_B.weight");
        }
    }

    public List<LoraAdapter> adapters() {
        return adapters;
    }

    /** The name of each of {@link #masters()}, aligned with it. */
    public List<String> names() {
        return names;
    }

    /** The FLOAT32 masters, [A, B] per adapter: what the optimizers update and checkpoints hold. */
    public List<NDArray> masters() {
        List<NDArray> out = new ArrayList<>();
        for (LoraAdapter a : adapters) {
            out.add(a.down());
            out.add(a.up());
        }
        return out;
    }

    private List<NDArray> workingCopies() {
        List<NDArray> out = new ArrayList<>();
        for (LoraAdapter a : adapters) {
            out.add(a.workingDown());
            out.add(a.workingUp());
        }
        return out;
    }

    /**
     * Makes the working copies leaves that record gradients (for backprop) or not (inference, zeroth-order steps);
     * the base weights never do.
     */
    public void setTrainable(boolean trainable) {
        for (NDArray w : workingCopies()) {
            w.setRequiresGradient(trainable);
        }
    }

    /**
     * The accumulated gradients, FLOAT32, aligned with {@link #masters()}, each a new handle the caller closes; null
     * for a parameter the backward did not reach.
     */
    public List<NDArray> gradients() {
        List<NDArray> out = new ArrayList<>();
        for (NDArray w : workingCopies()) {
            NDArray g = Autograd.gradientOrNull(w);
            if (g != null && g.getDataType() != DataType.FLOAT32) {
                NDArray cast = g.toType(DataType.FLOAT32, true);
                g.close();
                g = cast;
            }
            out.add(g);
        }
        return out;
    }

    public void zeroGradients() {
        for (NDArray w : workingCopies()) {
            if (w.hasGradient()) {
                Autograd.zeroGradient(w);
            }
        }
    }

    /** Refreshes the working copies after the masters changed in place. */
    public void syncWorkingCopies() {
        adapters.forEach(LoraAdapter::syncWorkingCopies);
    }

    /** The number of trainable values. */
    public long count() {
        return adapters.stream().mapToLong(LoraAdapter::parameterCount).sum();
    }
}
