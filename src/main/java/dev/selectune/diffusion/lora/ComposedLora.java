package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.LinearAdapter;

import java.util.List;

/**
 * Several LoRA adapters on one linear layer: delta(x) = sum_i s_i B_i (A_i x), each adapter with its own scale
 * (alpha_i / r_i times its weight), as PEFT's {@code lora.Linear} with several active adapters.
 */
final class ComposedLora implements LinearAdapter {
    private final List<LoraAdapter> adapters;

    ComposedLora(List<LoraAdapter> adapters) {
        this.adapters = List.copyOf(adapters);
    }

    @Override
    public NDArray apply(NDArray x) {
        NDArray sum = adapters.get(0).apply(x);
        for (int i = 1; i < adapters.size(); i++) {
            try (NDArray term = adapters.get(i).apply(x)) {
                sum.addi(term);
            }
        }
        return sum;
    }
}
