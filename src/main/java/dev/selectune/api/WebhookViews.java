package dev.selectune.api;

import dev.selectune.generations.GenerationRepository;
import dev.selectune.jobs.JobRepository;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookBodies;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

import java.util.Optional;

/**
 * Every subject's webhook body: the subject exactly as {@code GET} on it returns it ({@code /v1/jobs/{id}},
 * {@code /v1/generations/{id}}). A new {@link Subject} is one case here (the switch must cover them all).
 */
@Component
class WebhookViews implements WebhookBodies {
    private final JobRepository jobs;
    private final JobViews jobViews;
    private final GenerationRepository generations;
    private final GenerationViews generationViews;
    private final JsonMapper json;

    WebhookViews(JobRepository jobs, JobViews jobViews, GenerationRepository generations,
                 GenerationViews generationViews, JsonMapper json) {
        this.jobs = jobs;
        this.jobViews = jobViews;
        this.generations = generations;
        this.generationViews = generationViews;
        this.json = json;
    }

    @Override
    public String body(Subject subject, String subjectId) {
        Optional<?> view = switch (subject) {
            case JOB -> jobs.findById(subjectId).map(jobViews::view);
            case GENERATION -> generations.findById(subjectId).map(generationViews::view);
        };
        return json.writeValueAsString(view.orElseThrow(
                () -> new IllegalStateException(subject.wireName() + " " + subjectId + " is gone")));
    }
}
