package dev.selectune.config;

import ai.djl.Device;
import dev.selectune.evaluation.Evaluator;
import dev.selectune.evaluation.image.ImageProcessor;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.io.JsonFields;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.nio.file.Path;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The evaluator models, from {@code selectune.eval-models} ({@code clip=folder,dino=folder}). Like base models, the
 * folders' configs are checked at start (a broken folder stops the service, naming it); the weights are loaded on
 * the first evaluation of each device and kept.
 */
@Component
public class EvaluatorRegistry {
    private static final Logger log = LoggerFactory.getLogger(EvaluatorRegistry.class);
    public static final List<String> NAMES = List.of("clip", "dino");

    /** One configured evaluator model and what its config says. */
    public record EvaluatorModel(String name, Path folder, String modelType, int imageSize) {
    }

    private final Map<String, EvaluatorModel> models;
    private final Map<String, Evaluator> loaded = new HashMap<>();

    public EvaluatorRegistry(SelectuneProperties props) {
        this.models = parse(props.evalModels());
        models.values().forEach(m -> log.info("evaluator '{}': {} ({} px) from {}", m.name(), m.modelType(),
                m.imageSize(), m.folder()));
    }

    static Map<String, EvaluatorModel> parse(String spec) {
        Map<String, EvaluatorModel> out = new LinkedHashMap<>();
        for (String entry : spec.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            String name = eq > 0 ? entry.substring(0, eq).trim() : "";
            if (eq <= 0 || eq == entry.length() - 1 || !NAMES.contains(name)) {
                throw new IllegalArgumentException("selectune.eval-models: expected clip=folder,dino=folder, got '"
                        + entry.trim() + "'");
            }
            Path folder = Path.of(entry.substring(eq + 1).trim()).toAbsolutePath().normalize();
            try {
                JsonFields config = JsonFields.read(folder.resolve("config.json"));
                String type = config.stringField("model_type", "");
                int size = name.equals("clip") ? config.object("vision_config").intField("image_size", 224)
                        : config.intField("image_size", 224);
                ImageProcessor.load(folder);
                out.put(name, new EvaluatorModel(name, folder, type, size));
            } catch (EvaluationException e) {
                throw new IllegalArgumentException("selectune.eval-models: " + name + ": " + e.getMessage(), e);
            }
        }
        if (!out.isEmpty() && out.size() != NAMES.size()) {
            throw new IllegalArgumentException("selectune.eval-models: both clip and dino are needed, got only "
                    + out.keySet());
        }
        return out;
    }

    /** True when jobs may ask for evaluation. */
    public boolean available() {
        return !models.isEmpty();
    }

    public List<EvaluatorModel> all() {
        return List.copyOf(models.values());
    }

    /** The loaded evaluator for a device (loaded on first use, then shared by that device's jobs). */
    public synchronized Evaluator evaluator(Device device) {
        if (!available()) {
            throw new IllegalStateException("no evaluator models configured (selectune.eval-models)");
        }
        return loaded.computeIfAbsent(device.toString(), d -> Evaluator.load(models.get("clip").folder(),
                models.get("dino").folder(), device));
    }
}
