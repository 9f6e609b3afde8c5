package dev.selectune.training.data;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.diffusion.vae.DiagonalGaussianDistribution;

import java.awt.image.BufferedImage;
import java.util.ArrayList;
import java.util.List;

/**
 * Decodes and checks the job's images, then encodes them once with the VAE (at both resolutions, and mirrored when
 * flips are on) and the prompts once with the text encoder(s). The caller closes the VAE and the text encoders
 * right after, so neither is resident during the steps.
 */
public final class TrainingDataBuilder {
    /** The most instance images a job takes. */
    public static final int MAX_IMAGES = 50;

    private TrainingDataBuilder() {
    }

    /**
     * Decodes every image and checks it is at least the low resolution, before any model is loaded.
     *
     * @throws IllegalArgumentException naming the image index: none or too many images, unreadable, too small
     */
    public static List<BufferedImage> decodeAll(List<byte[]> images, Resolutions resolutions) {
        if (images == null || images.isEmpty() || images.size() > MAX_IMAGES) {
            throw new IllegalArgumentException("images: need 1 to " + MAX_IMAGES + " images, got "
                    + (images == null ? 0 : images.size()));
        }
        List<BufferedImage> decoded = new ArrayList<>();
        for (int i = 0; i < images.size(); i++) {
            BufferedImage img = ImageDecoder.decode(images.get(i), i, resolutions.high());
            int side = Math.min(img.getWidth(), img.getHeight());
            if (side < resolutions.low()) {
                throw new IllegalArgumentException("images[" + i + "]: " + img.getWidth() + "x" + img.getHeight()
                        + " px is smaller than the low training resolution of " + resolutions.low() + " px");
            }
            decoded.add(img);
        }
        return decoded;
    }

    /**
     * Encodes every image into latents (posterior mean times the VAE's scaling factor, as diffusers' DreamBooth
     * script does with {@code latent_dist.sample()} minus the sampling noise: the mean keeps the cache exact and
     * the job deterministic) and the prompts into conditionings, all in {@code manager}.
     *
     * @param flips whether the instance images also get horizontally flipped latents
     */
    public static TrainingData encode(List<BufferedImage> images, List<BufferedImage> classImages, boolean flips,
                                      String instancePrompt, String classPrompt, Resolutions res, AutoencoderKL vae,
                                      PromptEncoder prompts, NDManager manager) {
        return Autograd.noGrad(() -> {
            List<TrainingData.Latents> instance = latents(images, flips, res, vae, manager);
            List<TrainingData.Latents> cls = latents(classImages, false, res, vae, manager);
            Conditioning high = prompts.encode(instancePrompt, res.high(), manager);
            Conditioning low = prompts.encode(instancePrompt, res.low(), manager);
            Conditioning classHigh = cls.isEmpty() ? null : prompts.encode(classPrompt, res.high(), manager);
            Conditioning classLow = cls.isEmpty() ? null : prompts.encode(classPrompt, res.low(), manager);
            return new TrainingData(manager, instance, high, low, cls, classHigh, classLow);
        });
    }

    private static List<TrainingData.Latents> latents(List<BufferedImage> images, boolean flips, Resolutions res,
                                                      AutoencoderKL vae, NDManager manager) {
        List<TrainingData.Latents> out = new ArrayList<>();
        for (BufferedImage img : images) {
            NDArray high = latent(img, res.high(), false, vae, manager);
            NDArray low = latent(img, res.low(), false, vae, manager);
            NDArray flippedHigh = flips ? latent(img, res.high(), true, vae, manager) : null;
            NDArray flippedLow = flips ? latent(img, res.low(), true, vae, manager) : null;
            out.add(new TrainingData.Latents(high, low, flippedHigh, flippedLow));
        }
        return out;
    }

    private static NDArray latent(BufferedImage img, int size, boolean flip, AutoencoderKL vae, NDManager manager) {
        float[] pixels = ImagePreprocessor.centerCropResize(img, size, flip);
        try (NDManager scratch = manager.newSubManager()) {
            NDArray image = scratch.create(pixels, new Shape(1, 3, size, size));
            try (DiagonalGaussianDistribution posterior = vae.encode(image)) {
                NDArray scaled = posterior.mean().toType(ai.djl.ndarray.types.DataType.FLOAT32, true)
                        .mul(vae.scalingFactor());
                scaled.attach(manager);
                return scaled;
            }
        }
    }
}
