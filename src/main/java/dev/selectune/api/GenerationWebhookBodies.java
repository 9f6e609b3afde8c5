package dev.selectune.api;

import dev.selectune.generations.GenerationRepository;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookBodies;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/** A generation's webhook body: the generation exactly as {@code GET /v1/generations/{id}} returns it. */
@Component
class GenerationWebhookBodies implements WebhookBodies {
    private final GenerationRepository generations;
    private final GenerationViews views;
    private final JsonMapper json;

    GenerationWebhookBodies(GenerationRepository generations, GenerationViews views, JsonMapper json) {
        this.generations = generations;
        this.views = views;
        this.json = json;
    }

    @Override
    public Subject subject() {
        return Subject.GENERATION;
    }

    @Override
    public String body(String generationId) {
        return json.writeValueAsString(views.view(generations.findById(generationId)
                .orElseThrow(() -> new IllegalStateException("generation " + generationId + " is gone"))));
    }
}
