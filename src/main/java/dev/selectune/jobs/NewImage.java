package dev.selectune.jobs;

import dev.selectune.training.data.ImageProbe;

/** An uploaded image that passed validation: its bytes, what the probe read, and its digest. */
public record NewImage(String filename, byte[] bytes, ImageProbe.Info info, String sha256) {
}
