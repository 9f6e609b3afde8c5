package dev.selectune.config;

import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.pipeline.ModelInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.stereotype.Component;

import java.nio.file.Path;
import java.util.Collection;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;

/**
 * The base models this service trains, from {@code selectune.models} ({@code name=folder,...}). Each folder's
 * {@code model_index.json} and configs are read once at start; a folder that is not a diffusers pipeline stops the
 * service with the folder and the reason, rather than failing jobs later.
 */
@Component
public class ModelRegistry {
    private static final Logger log = LoggerFactory.getLogger(ModelRegistry.class);

    public record Model(String name, Path folder, ModelInfo info) {
    }

    private final Map<String, Model> models;

    public ModelRegistry(SelectuneProperties props) {
        this.models = Collections.unmodifiableMap(parse(props.models()));
        if (models.isEmpty()) {
            log.warn("selectune.models is empty: GET /v1/models lists nothing and every job is refused."
                    + " Set SELECTUNE_MODELS=name=/path/to/diffusers/folder");
        }
        models.values().forEach(m -> log.info("base model '{}': {} ({}, {} px native) from {}", m.name(),
                m.info().family(), m.info().pipelineClass(), m.info().nativeResolution(), m.folder()));
    }

    static Map<String, Model> parse(String spec) {
        Map<String, Model> out = new LinkedHashMap<>();
        for (String entry : spec.split(",")) {
            if (entry.isBlank()) {
                continue;
            }
            int eq = entry.indexOf('=');
            if (eq <= 0 || eq == entry.length() - 1) {
                throw new IllegalArgumentException("selectune.models: expected name=folder, got '" + entry.trim() + "'");
            }
            String name = entry.substring(0, eq).trim();
            Path folder = Path.of(entry.substring(eq + 1).trim()).toAbsolutePath().normalize();
            try {
                out.put(name, new Model(name, folder, ModelInfo.read(folder)));
            } catch (PipelineException e) {
                throw new IllegalArgumentException("selectune.models: model '" + name + "': " + e.getMessage(), e);
            }
        }
        return out;
    }

    public Optional<Model> find(String name) {
        return Optional.ofNullable(name).map(models::get);
    }

    public Collection<Model> all() {
        return models.values();
    }
}
