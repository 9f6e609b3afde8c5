package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.lora.LoraAdapter;
import dev.selectune.diffusion.nn.Autograd;

import java.util.ArrayList;
import java.util.List;

/**
 * The trainable tensors of a set of LoRA adapters in a fixed order (A then B per adapter, adapters in the order
 * given), named in PEFT style ({@code <module path>.lora_A.weight}). The optimizers update the FP32 masters;
 * the forward and backward use the working copies (the masters themselves in FP32, FP16 copies on a GPU), so
 * gradients are read from the working copies and the copies are re-synced after every update.
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

    public List<String> names() {
        return names;
    }

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

    /** Marks the working copies as leaves that record gradients (the base weights never do). */
    public void requireGradients() {
        for (NDArray w : workingCopies()) {
            w.setRequiresGradient(true);
        }
    }

    /**
     * The accumulated gradients, FP32, one per master, each a new handle the caller closes. A parameter the
     * backward did not reach gets zeros.
     */
    public List<NDArray> gradients() {
        List<NDArray> out = new ArrayList<>();
        for (NDArray w : workingCopies()) {
            NDArray g = Autograd.gradientOrNull(w);
            if (g == null) {
                out.add(w.getManager().zeros(w.getShape(), DataType.FLOAT32));
            } else if (g.getDataType() != DataType.FLOAT32) {
                out.add(g.toType(DataType.FLOAT32, true));
                g.close();
            } else {
                out.add(g);
            }
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

    public long count() {
        return adapters.stream().mapToLong(LoraAdapter::parameterCount).sum();
    }
}
