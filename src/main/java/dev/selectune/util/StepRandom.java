package dev.selectune.util;

import java.util.SplittableRandom;

/**
 * The job's random numbers, counter-based: step i draws everything it needs (image, flip, timestep, strategy,
 * noise, MeZO seeds) from a generator seeded by (job seed, i) alone. So the whole "RNG state" a checkpoint needs
 * is the seed and the step, a resumed job draws exactly what the uninterrupted one drew, and a job never touches
 * torch's process-wide generator (which concurrent jobs would share). The denoising loop draws an ancestral
 * sampler's per-step noise the same way, from (image seed, step).
 */
public final class StepRandom {
    private StepRandom() {
    }

    /** The generator of step {@code step} (1-based) of the job seeded with {@code seed}. */
    public static SplittableRandom forStep(long seed, int step) {
        // Mix (seed, step) through two murmur3 finalizers: plain seed + step would make neighbouring steps'
        // SplittableRandom sequences overlap shifted by one.
        return new SplittableRandom(mix(mix(seed) ^ (step * 0x9E3779B97F4A7C15L)));
    }

    /** A generator for one purpose outside the steps (LoRA init, class images), e.g. {@code "lora-init"}. */
    public static SplittableRandom forPurpose(long seed, String purpose) {
        return new SplittableRandom(mix(seed ^ mix(purpose.hashCode())));
    }

    static long mix(long z) {
        z = (z ^ (z >>> 33)) * 0xff51afd7ed558ccdL;
        z = (z ^ (z >>> 33)) * 0xc4ceb9fe1a85ec53L;
        return z ^ (z >>> 33);
    }

    /** {@code count} standard normal floats. */
    public static float[] gaussians(SplittableRandom random, int count) {
        float[] out = new float[count];
        for (int i = 0; i < count; i++) {
            out[i] = (float) random.nextGaussian();
        }
        return out;
    }
}
