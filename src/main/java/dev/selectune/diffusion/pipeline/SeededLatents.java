package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;

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
}
