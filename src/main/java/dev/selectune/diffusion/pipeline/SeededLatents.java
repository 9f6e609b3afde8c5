package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.schedulers.StepNoise;
import dev.selectune.util.StepRandom;

import java.util.SplittableRandom;

/**
 * Standard-normal tensors from a seeded Java generator. Torch's global RNG is process-wide, so two jobs sampling
 * at once would perturb each other's streams; a generator per call makes a seed mean the same image every time.
 */
public final class SeededLatents {
    private SeededLatents() {
    }

    public static NDArray normal(long seed, Shape shape, NDManager manager) {
        SplittableRandom random = new SplittableRandom(seed);
        float[] values = new float[Math.toIntExact(shape.size())];
        for (int i = 0; i < values.length; i++) {
            values[i] = (float) random.nextGaussian();
        }
        return manager.create(values, shape);
    }

    /**
     * The fresh noise an ancestral sampler adds to the image seeded with {@code seed}: step i (0-based) draws from
     * {@link StepRandom#forStep}{@code (seed, i + 1)}, counter-based, so it depends on the image's seed and the step
     * alone (not on the other images of a generation, nor on how many draws the steps before made).
     */
    public static StepNoise stepNoise(long seed) {
        return (stepIndex, like) -> {
            float[] values = StepRandom.gaussians(StepRandom.forStep(seed, stepIndex + 1), Math.toIntExact(like.size()));
            return like.getManager().create(values, like.getShape()).toType(like.getDataType(), false);
        };
    }
}
