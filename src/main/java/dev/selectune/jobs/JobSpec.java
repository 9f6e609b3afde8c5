package dev.selectune.jobs;

import dev.selectune.util.Problem;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingOverrides;
import tools.jackson.databind.annotation.JsonDeserialize;
import tools.jackson.databind.annotation.JsonSerialize;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.training.schedule.Schedule;
import dev.selectune.webhooks.WebhookRequest;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The job a client asks for, as it comes over the wire ({@code POST /v1/jobs}): the base model, the images and
 * the hyperparameters of {@link TrainingConfig}, each under its JSON name at the top level of the object (see
 * {@link JobSpecJson}). Absent hyperparameters take the trainer's defaults; {@link #resolved} fills them in, and
 * that complete form is what the job stores and echoes, so a job is reproducible even if a default changes later.
 *
 * @param hyperparameters the hyperparameters given, as wire values by JSON name
 * @param webhook         {@code webhook} and {@code webhook_events_filter}, checked by the service (the policy is a
 *                        setting); null without a webhook
 */
@JsonSerialize(using = JobSpecJson.Writer.class)
@JsonDeserialize(using = JobSpecJson.Reader.class)
public record JobSpec(
        String baseModel,
        String imageSetId,
        TrainingOverrides hyperparameters,
        Map<String, String> metadata,
        EvaluationSpec evaluation,
        WebhookRequest webhook) {

    public JobSpec {
        hyperparameters = hyperparameters == null ? new TrainingOverrides(Map.of()) : hyperparameters;
    }

    /** A spec with every hyperparameter of {@code config} spelled out. */
    public static JobSpec of(String baseModel, String imageSetId, TrainingConfig config) {
        return new JobSpec(baseModel, imageSetId, TrainingOverrides.of(config), null, null, null);
    }

    /** The trainer's config, or the problems that stop it from being one. */
    public record Checked(TrainingConfig config, List<Problem> problems) {
    }

    public Checked check() {
        List<Problem> problems = new ArrayList<>();
        TrainingConfig config = hyperparameters.toConfig(problems);
        problems.addAll(config.problems());
        if (imageSetId != null && imageSetId.isBlank()) {
            problems.add(new Problem("image_set_id", "required (or upload 'images' parts with a 'spec' part); got an empty string"));
        } else if (imageSetId != null && !imageSetId.matches("[A-Za-z0-9_-]{1,64}")) {
            // Never looked up: a NUL would not even reach PostgreSQL, and no id has other characters.
            problems.add(new Problem("image_set_id", "not an image set id (like imgset_3kq7v2m4x5p6r7s8t9ua)"));
        }
        problems.addAll(Metadata.problems(metadata));
        if (evaluation != null) {
            problems.addAll(evaluation.problems());
        }
        return new Checked(config, problems);
    }

    /** This spec with every hyperparameter spelled out, as stored with the job. */
    public JobSpec resolved(TrainingConfig c, String imageSetId) {
        return new JobSpec(baseModel, imageSetId, TrainingOverrides.of(c), metadata,
                evaluation == null ? null : evaluation.resolved(), webhook == null ? null : webhook.resolved());
    }
}
