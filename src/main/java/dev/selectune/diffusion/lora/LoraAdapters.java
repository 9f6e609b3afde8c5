package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.unet.UNet2DConditionModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * The named LoRAs loaded for one UNet and the ones active on it, as diffusers' {@code load_lora_weights(...,
 * adapter_name=...)}, {@code set_adapters(names, adapter_weights)}, {@code disable_lora()} and
 * {@code delete_adapters(name)}: several LoRAs compose, each at its own weight, and they go on and off the UNet
 * without touching (or reloading) its base weights. With none active the UNet computes exactly its base output.
 */
public final class LoraAdapters implements AutoCloseable {
    private final UNet2DConditionModel unet;
    private final NDManager manager;
    private final Map<String, LoraNetwork> loaded = new LinkedHashMap<>();
    private Map<String, Float> active = Map.of();

    /** The adapters live in a sub-manager of {@code parent}, freed by {@link #close()}. */
    public LoraAdapters(UNet2DConditionModel unet, NDManager parent) {
        this.unet = unet;
        this.manager = parent.newSubManager();
    }

    /** Reads a LoRA file (any {@link LoraFormat}) under {@code name}, not yet active; fails naming file and key. */
    public void load(String name, Path file) {
        if (loaded.containsKey(name)) {
            throw new IllegalArgumentException("a LoRA named '" + name + "' is already loaded");
        }
        loaded.put(name, LoraNetwork.read(file, unet, manager));
    }

    public boolean has(String name) {
        return loaded.containsKey(name);
    }

    /** The loaded names, in load order. */
    public Set<String> names() {
        return Set.copyOf(loaded.keySet());
    }

    /** The active LoRAs and their weights, in the order given to {@link #set}. */
    public Map<String, Float> active() {
        return active;
    }

    /**
     * Makes exactly these LoRAs active at these weights (1 = as trained, diffusers' {@code adapter_weights}); every
     * other LoRA goes off the UNet. An empty map is {@link #disable()}.
     */
    public void set(Map<String, Float> weights) {
        for (Map.Entry<String, Float> e : weights.entrySet()) {
            if (!loaded.containsKey(e.getKey())) {
                throw new IllegalArgumentException("no LoRA named '" + e.getKey() + "' is loaded");
            }
            if (!Float.isFinite(e.getValue())) {
                throw new IllegalArgumentException("LoRA '" + e.getKey() + "': weight " + e.getValue()
                        + " is not finite");
            }
        }
        disable();
        Map<String, List<LoraAdapter>> perLayer = new LinkedHashMap<>();
        weights.forEach((name, weight) -> loaded.get(name).adapters().forEach((path, adapter) -> {
            adapter.setUserScale(weight);
            perLayer.computeIfAbsent(path, p -> new ArrayList<>()).add(adapter);
        }));
        Map<String, Linear> targets = unet.attentionProjections();
        perLayer.forEach((path, adapters) -> targets.get(path).setAdapter(adapters.size() == 1 ? adapters.get(0)
                : new ComposedLora(adapters)));
        active = Collections.unmodifiableMap(new LinkedHashMap<>(weights));
    }

    /** Takes every LoRA off the UNet (they stay loaded): the UNet computes its base output again. */
    public void disable() {
        unet.attentionProjections().values().forEach(l -> l.setAdapter(null));
        active = Map.of();
    }

    /** Takes the LoRA off the UNet if active, and frees it. */
    public void delete(String name) {
        LoraNetwork network = loaded.remove(name);
        if (network == null) {
            return;
        }
        if (active.containsKey(name)) {
            Map<String, Float> rest = new LinkedHashMap<>(active);
            rest.remove(name);
            set(rest);
        }
        network.close();
    }

    @Override
    public void close() {
        disable();
        loaded.values().forEach(LoraNetwork::close);
        loaded.clear();
        manager.close();
    }
}
