package dev.selectune.training.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;

import java.util.List;

/**
 * Everything the steps read, encoded once before the first step: each image's latents at the high and the low
 * resolution (and of its mirror image when horizontal flips are on), the instance prompt's conditioning at both
 * resolutions (SDXL's time ids name the size), and, with prior preservation, the class images and prompt.
 * The VAE and text encoders are closed by then; only these tensors (a few MB) stay, in {@link #manager()}.
 */
public record TrainingData(NDManager manager, List<Latents> images, Conditioning promptHigh, Conditioning promptLow,
                           List<Latents> classImages, Conditioning classPromptHigh, Conditioning classPromptLow)
        implements AutoCloseable {

    /**
     * One image's latents (1, C, h, w), already multiplied by the VAE's scaling factor.
     *
     * @param flippedHigh null when horizontal flips are off
     */
    public record Latents(NDArray high, NDArray low, NDArray flippedHigh, NDArray flippedLow) {
        public NDArray high(boolean flipped) {
            return flipped ? flippedHigh : high;
        }

        public NDArray low(boolean flipped) {
            return flipped ? flippedLow : low;
        }

        public boolean hasFlips() {
            return flippedHigh != null;
        }
    }

    public TrainingData {
        images = List.copyOf(images);
        classImages = classImages == null ? List.of() : List.copyOf(classImages);
    }

    public boolean hasPrior() {
        return !classImages.isEmpty();
    }

    @Override
    public void close() {
        manager.close();
    }
}
