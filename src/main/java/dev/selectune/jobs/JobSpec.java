package dev.selectune.jobs;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.training.Schedule;
import dev.selectune.training.TrainingConfig;
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
        Map<String, String> metadata) {

    /** The trainer's config, or the problems ("field: what is wrong") that stop it from being one. */
    public record Checked(TrainingConfig config, List<String> problems) {
    }

    public Checked check() {
        List<String> problems = new ArrayList<>();
        TrainingConfig.Builder b = TrainingConfig.builder(instancePrompt);
        if (classPrompt != null) b.classPrompt(classPrompt);
        if (validationPrompts != null) b.validationPrompts(validationPrompts);
        if (schedule != null) {
            try {
                b.schedule(Schedule.fromWireName(schedule));
            } catch (IllegalArgumentException e) {
                problems.add("schedule: " + e.getMessage());
            }
        }
        if (steps != null) b.steps(steps);
        b.seed(seed);
        b.resolution(resolution);
        if (resizeRatio != null) b.resizeRatio(resizeRatio);
        if (rank != null) b.rank(rank);
        b.loraAlpha(loraAlpha);
        if (learningRate != null) b.learningRate(learningRate);
        if (adamBeta1 != null) b.adamBeta1(adamBeta1);
        if (adamBeta2 != null) b.adamBeta2(adamBeta2);
        if (adamEpsilon != null) b.adamEpsilon(adamEpsilon);
        if (weightDecay != null) b.weightDecay(weightDecay);
        if (maxGradNorm != null) b.maxGradNorm(maxGradNorm);
        if (zoPerturbations != null) b.zoPerturbations(zoPerturbations);
        if (zoEpsilon != null) b.zoEpsilon(zoEpsilon);
        if (zoLearningRate != null) b.zoLearningRate(zoLearningRate);
        if (k != null) b.k(k);
        if (tMid != null) b.tMid(tMid);
        if (tMax != null) b.tMax(tMax);
        if (gradientCheckpointing != null) b.gradientCheckpointing(gradientCheckpointing);
        if (horizontalFlip != null) b.horizontalFlip(horizontalFlip);
        if (checkpointEvery != null) b.checkpointEvery(checkpointEvery);
        if (numClassImages != null) b.numClassImages(numClassImages);
        if (priorLossWeight != null) b.priorLossWeight(priorLossWeight);
        if (validationSteps != null) b.validationSteps(validationSteps);
        if (guidanceScale != null) b.guidanceScale(guidanceScale);
        if (precision != null) b.precision(precision);
        TrainingConfig config = b.build();
        problems.addAll(config.problems());
        if (metadata != null && metadata.size() > 16) {
            problems.add("metadata: at most 16 keys, got " + metadata.size());
        }
        if (metadata != null) {
            metadata.forEach((key, value) -> {
                if (key.length() > 64 || (value != null && value.length() > 512)) {
                    problems.add("metadata." + key + ": keys at most 64 and values at most 512 characters");
                }
            });
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
                c.priorLossWeight(), c.validationSteps(), c.guidanceScale(), c.precision(), metadata);
    }
}
