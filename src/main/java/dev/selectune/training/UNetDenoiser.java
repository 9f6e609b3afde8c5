package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.training.data.Conditioning;

import java.util.function.Function;

/** The LoRA-adapted {@link UNet2DConditionModel} as the trainer's {@link Denoiser}. */
public final class UNetDenoiser implements Denoiser {
    private final UNet2DConditionModel unet;

    public UNetDenoiser(UNet2DConditionModel unet) {
        this.unet = unet;
    }

    @Override
    public NDArray predict(NDArray noisyLatents, int timestep, Conditioning cond) {
        try (NDArray t = noisyLatents.getManager().create(new long[] {timestep})) {
            return unet.forward(asModelType(noisyLatents), t, asModelType(cond.hiddenStates()), added(cond));
        }
    }

    @Override
    public NDArray lossAndBackward(NDArray noisyLatents, int timestep, Conditioning cond,
                                   Function<NDArray, NDArray> lossOfOutput, boolean checkpointed) {
        try (NDArray t = noisyLatents.getManager().create(new long[] {timestep})) {
            return unet.lossAndBackward(asModelType(noisyLatents), t, asModelType(cond.hiddenStates()), added(cond),
                    lossOfOutput, checkpointed);
        }
    }

    /** The cached latents and text states are FP32; an FP16 UNet takes FP16 (no graph runs through them). */
    private NDArray asModelType(NDArray x) {
        return Precision.cast(x, unet.dataType());
    }

    private static AddedConditions added(Conditioning cond) {
        return cond.pooled() == null ? null : new AddedConditions(cond.pooled(), cond.timeIds());
    }
}
