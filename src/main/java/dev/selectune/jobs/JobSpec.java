package dev.selectune.jobs;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingOverrides;
import dev.selectune.training.schedule.Schedule;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * The job a client asks for, as it comes over the wire ({@code POST /v1/jobs}): the base model, the images and
 * every hyperparameter of {@link TrainingConfig} under its snake_case name. Absent hyperparameters take the
 * trainer's defaults; {@link #resolved} fills them in, and that complete form is what the job stores and echoes,
 * so a job is reproducible even if a default changes later.
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record JobSpec(
        String baseModel,
        String imageSetId,
        String instancePrompt,
        String classPrompt,
        List<String> validationPrompts,
        String schedule,
        Integer steps,
        Long seed,
        Integer resolution,
        Double resizeRatio,
        Integer rank,
        Double loraAlpha,
        Double learningRate,
        Double adamBeta1,
        Double adamBeta2,
        Double adamEpsilon,
        Double weightDecay,
        Double maxGradNorm,
        Integer zoPerturbations,
        Double zoEpsilon,
        Double zoLearningRate,
        Double k,
        Double tMid,
        Double tMax,
        Boolean gradientCheckpointing,
        Boolean horizontalFlip,
        Integer checkpointEvery,
        Integer numClassImages,
        Double priorLossWeight,
        Integer validationSteps,
        Double guidanceScale,
        String precision,
        String weightsDtype,
        Map<String, String> metadata,
        EvaluationSpec evaluation) {

    /** The trainer's config, or the problems ("field: what is wrong") that stop it from being one. */
    public record Checked(TrainingConfig config, List<String> problems) {
    }

    public Checked check() {
        List<String> problems = new ArrayList<>();
        Schedule parsed = null;
        if (schedule != null) {
            try {
                parsed = Schedule.fromWireName(schedule);
            } catch (IllegalArgumentException e) {
                problems.add("schedule: " + e.getMessage());
            }
        }
        TrainingConfig config = new TrainingOverrides(classPrompt, validationPrompts, parsed, steps, seed, resolution,
                resizeRatio, rank, loraAlpha, learningRate, adamBeta1, adamBeta2, adamEpsilon, weightDecay, maxGradNorm,
                zoPerturbations, zoEpsilon, zoLearningRate, k, tMid, tMax, gradientCheckpointing, horizontalFlip,
                checkpointEvery, numClassImages, priorLossWeight, validationSteps, guidanceScale, precision,
                weightsDtype)
                .applyTo(TrainingConfig.builder(instancePrompt)).build();
        problems.addAll(config.problems());
        if (imageSetId != null && imageSetId.isBlank()) {
            problems.add("image_set_id: required (or upload 'images' parts with a 'spec' part); got an empty string");
        } else if (imageSetId != null && !imageSetId.matches("[A-Za-z0-9_-]{1,64}")) {
            // Never looked up: a NUL would not even reach PostgreSQL, and no id has other characters.
            problems.add("image_set_id: not an image set id (like imgset_3kq7v2m4x5p6r7s8t9ua)");
        }
        if (metadata != null && metadata.size() > 16) {
            problems.add("metadata: at most 16 keys, got " + metadata.size());
        }
        if (metadata != null) {
            metadata.forEach((key, value) -> {
                if (key.length() > 64 || (value != null && value.length() > 512)) {
                    problems.add("metadata." + key + ": keys at most 64 and values at most 512 characters");
                } else if (TrainingConfig.firstControlCharacter(key) >= 0
                        || (value != null && TrainingConfig.firstControlCharacter(value) >= 0)) {
                    problems.add("metadata." + key + ": no control characters other than tab and line breaks");
                }
            });
        }
        if (evaluation != null) {
            problems.addAll(evaluation.problems());
        }
        return new Checked(config, problems);
    }

    /** This spec with every hyperparameter spelled out, as stored with the job. */
    public JobSpec resolved(TrainingConfig c, String imageSetId) {
        return new JobSpec(baseModel, imageSetId, c.instancePrompt(), c.classPrompt(), c.validationPrompts(),
                c.schedule().wireName(), c.steps(), c.seed(), c.resolution(), c.resizeRatio(), c.rank(), c.loraAlpha(),
                c.learningRate(), c.adamBeta1(), c.adamBeta2(), c.adamEpsilon(), c.weightDecay(), c.maxGradNorm(),
                c.zoPerturbations(), c.zoEpsilon(), c.zoLearningRate(), c.k(), c.tMid(), c.tMax(),
                c.gradientCheckpointing(), c.horizontalFlip(), c.checkpointEvery(), c.numClassImages(),
                c.priorLossWeight(), c.validationSteps(), c.guidanceScale(), c.precision(), c.weightsDtype(),
                metadata, evaluation == null ? null : evaluation.resolved());
    }
}
