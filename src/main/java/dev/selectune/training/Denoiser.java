package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import dev.selectune.training.data.Conditioning;

import java.util.function.Function;

/**
 * The LoRA-adapted noise predictor the trainer optimizes: the UNet for real jobs, a small model in unit tests.
 * Only the LoRA parameters may receive gradients.
 */
public interface Denoiser {
    /** The model output (epsilon or v) for noisy latents (B, C, h, w) at {@code timestep}, in the caller's grad mode. */
    NDArray predict(NDArray noisyLatents, int timestep, Conditioning cond);

    /**
     * Forward with gradient recording on, {@code loss = lossOfOutput(prediction)}, backward into the LoRA
     * parameters (gradients accumulate on them). With {@code checkpointed} the model keeps only segment inputs and
     * recomputes each segment during backward, trading time for activation memory.
     *
     * @return the scalar loss
     */
    NDArray lossAndBackward(NDArray noisyLatents, int timestep, Conditioning cond,
                            Function<NDArray, NDArray> lossOfOutput, boolean checkpointed);
}
