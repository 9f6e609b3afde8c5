package dev.selectune.diffusion.schedulers;

import ai.djl.ndarray.NDArray;

/**
 * The conversions between what the UNet predicts (noise, v or x0) and the x0 and noise estimates a sampler steps
 * with, for a sample x = alpha_t x0 + sigma_t eps with alpha_t = sqrt(alpha-bar), sigma_t = sqrt(1 - alpha-bar).
 * DDIM, PNDM and DPM-Solver++ all write these same lines in diffusers; Euler works in sigma units
 * (x = x0 + sigma eps) and keeps its own. Callers run these inside their {@code Scopes.run}.
 */
final class ModelOutputs {
    private ModelOutputs() {
    }

    /** diffusers' pred_original_sample: the x0 the model output implies (a new tensor). */
    static NDArray originalSample(SchedulerConfig.PredictionType type, NDArray modelOutput, NDArray sample,
                                  float alphaT, float sigmaT) {
        return switch (type) {
            case EPSILON -> sample.sub(modelOutput.mul(sigmaT)).div(alphaT);
            case SAMPLE -> modelOutput.duplicate();
            case V_PREDICTION -> sample.mul(alphaT).sub(modelOutput.mul(sigmaT));
        };
    }

    /**
     * diffusers' pred_epsilon: the noise the model output implies. For x0-prediction it is derived from
     * {@code originalSample} (which DDIM may have clipped). For epsilon-prediction this is {@code modelOutput}
     * itself, not a copy.
     */
    static NDArray epsilon(SchedulerConfig.PredictionType type, NDArray modelOutput, NDArray sample,
                           NDArray originalSample, float alphaT, float sigmaT) {
        return switch (type) {
            case EPSILON -> modelOutput;
            case SAMPLE -> sample.sub(originalSample.mul(alphaT)).div(sigmaT);
            case V_PREDICTION -> modelOutput.mul(alphaT).add(sample.mul(sigmaT));
        };
    }
}
