package dev.selectune.training;

import dev.selectune.training.schedule.Schedule;

import java.util.List;

/**
 * The hyperparameters a caller gave explicitly, null where it left the {@link TrainingConfig} default. Both ways in
 * (the {@code train} command's options and the service's {@code POST /v1/jobs} body) collect their values into one
 * of these, so the mapping onto {@link TrainingConfig.Builder} is written once. Parsing the schedule's name stays
 * with each caller: the CLI and the API report a bad name differently.
 */
public record TrainingOverrides(
        String classPrompt,
        List<String> validationPrompts,
        Schedule schedule,
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
        String weightsDtype) {

    /** Sets every non-null value on {@code b}; the others keep whatever {@code b} holds. */
    public TrainingConfig.Builder applyTo(TrainingConfig.Builder b) {
        if (classPrompt != null) b.classPrompt(classPrompt);
        if (validationPrompts != null) b.validationPrompts(validationPrompts);
        if (schedule != null) b.schedule(schedule);
        if (steps != null) b.steps(steps);
        if (seed != null) b.seed(seed);
        if (resolution != null) b.resolution(resolution);
        if (resizeRatio != null) b.resizeRatio(resizeRatio);
        if (rank != null) b.rank(rank);
        if (loraAlpha != null) b.loraAlpha(loraAlpha);
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
        if (weightsDtype != null) b.weightsDtype(weightsDtype);
        return b;
    }
}
