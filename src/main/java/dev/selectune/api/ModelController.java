package dev.selectune.api;

import dev.selectune.config.ModelRegistry;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/** {@code GET /v1/models}: the configured base models and what their folders say they are. */
@RestController
public class ModelController {
    private final ModelRegistry models;

    public ModelController(ModelRegistry models) {
        this.models = models;
    }

    @GetMapping("/v1/models")
    public Views.Page<Views.ModelView> list() {
        return Views.Page.of(models.all().stream().map(m -> new Views.ModelView(m.name(), "model", m.info().family(),
                m.info().pipelineClass(), m.info().nativeResolution(), m.info().nativeResolution() / 2,
                m.info().predictionType(), m.info().crossAttentionDim())).toList(), false, null);
    }
}
