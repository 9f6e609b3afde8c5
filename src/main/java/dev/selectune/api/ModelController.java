package dev.selectune.api;

import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;

/**
 * {@code GET /v1/models}: the configured base models and what their folders say they are, and the evaluator models
 * (empty when jobs cannot ask for evaluation).
 */
@RestController
public class ModelController {
    private final ModelRegistry models;
    private final EvaluatorRegistry evaluators;

    public ModelController(ModelRegistry models, EvaluatorRegistry evaluators) {
        this.models = models;
        this.evaluators = evaluators;
    }

    @GetMapping("/v1/models")
    public Views.ModelList list() {
        return new Views.ModelList("list", models.all().stream().map(m -> new Views.ModelView(m.name(), "model", m.info().family(),
                m.info().pipelineClass(), m.info().nativeResolution(), m.info().nativeResolution() / 2,
                m.info().predictionType(), m.info().crossAttentionDim())).toList(), false, null,
                evaluators.all().stream().map(e -> new Views.EvaluatorView(e.name(), "evaluator", e.modelType(),
                        e.imageSize())).toList());
    }
}
