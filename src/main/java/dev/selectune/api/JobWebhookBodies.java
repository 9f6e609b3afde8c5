package dev.selectune.api;

import dev.selectune.jobs.JobRepository;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookBodies;
import org.springframework.stereotype.Component;
import tools.jackson.databind.json.JsonMapper;

/** A job's webhook body: the job object exactly as {@code GET /v1/jobs/{id}} returns it. */
@Component
class JobWebhookBodies implements WebhookBodies {
    private final JobRepository jobs;
    private final JobViews views;
    private final JsonMapper json;

    JobWebhookBodies(JobRepository jobs, JobViews views, JsonMapper json) {
        this.jobs = jobs;
        this.views = views;
        this.json = json;
    }

    @Override
    public Subject subject() {
        return Subject.JOB;
    }

    @Override
    public String body(String jobId) {
        return json.writeValueAsString(views.view(jobs.findById(jobId)
                .orElseThrow(() -> new IllegalStateException("job " + jobId + " is gone"))));
    }
}
