package dev.selectune.generations;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.selectune.config.ModelRegistry;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.function.Consumer;

/**
 * One worker's inference pipeline: the base model it used last, kept loaded while the next generation asks for the
 * same one (another base model replaces it, so a worker holds one inference pipeline besides its trainer), and the
 * LoRAs loaded on it by content digest, of which the {@value #MAX_LORAS} most recently used stay loaded.
 */
final class WorkerPipeline implements AutoCloseable {
    static final int MAX_LORAS = 16;

    private final Device device;
    private String modelName;
    private StableDiffusionPipeline pipeline;
    /** Loaded LoRA names, least recently used first. */
    private final LinkedHashSet<String> loras = new LinkedHashSet<>();

    WorkerPipeline(Device device) {
        this.device = device;
    }

    /** The pipeline of {@code model}, loaded only when this worker's last generation used another one. */
    StableDiffusionPipeline pipeline(ModelRegistry.Model model, Consumer<String> events) {
        if (pipeline != null && model.name().equals(modelName)) {
            events.accept("base model " + model.name() + " already loaded on this worker");
            return pipeline;
        }
        close();
        long started = System.nanoTime();
        pipeline = StableDiffusionPipeline.load(model.folder(), device, DataType.FLOAT32);
        modelName = model.name();
        events.accept(String.format("loaded base model %s in %.1f s", model.name(),
                (System.nanoTime() - started) / 1e9));
        return pipeline;
    }

    boolean hasLora(String name) {
        return loras.contains(name);
    }

    void loadLora(String name, Path file) {
        pipeline.loras().load(name, file);
        loras.add(name);
    }

    /** Puts these LoRAs on the UNet at these weights, and frees the least recently used beyond the limit. */
    void activate(Map<String, Float> weights) {
        for (String name : weights.keySet()) {
            loras.remove(name);
            loras.add(name);
        }
        List<String> evict = new ArrayList<>();
        for (String name : loras) {
            if (loras.size() - evict.size() <= MAX_LORAS) {
                break;
            }
            if (!weights.containsKey(name)) {
                evict.add(name);
            }
        }
        evict.forEach(name -> {
            pipeline.loras().delete(name);
            loras.remove(name);
        });
        pipeline.loras().set(weights);
    }

    /** Takes every LoRA off the UNet: the base model's weights are what the next generation starts from. */
    void deactivate() {
        if (pipeline != null) {
            pipeline.loras().disable();
        }
    }

    @Override
    public void close() {
        if (pipeline != null) {
            pipeline.close();
            pipeline = null;
            modelName = null;
            loras.clear();
        }
    }
}
