package dev.selectune.diffusion.vae;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.MemoryFormat;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.nio.file.Path;

/**
 * diffusers' {@code AutoencoderKL}, built from its {@code config.json}: {@link #encode} maps images in [-1, 1] to
 * the latent posterior, {@link #decode} maps latents back to images (raw, unclamped). The VAE is never trained
 * here, so both run with gradients off whatever the caller's mode. The model owns the manager that holds its
 * weights; results go to the manager of the caller's input.
 *
 * <p>{@link #decode} does not divide by {@link #scalingFactor()}: as in diffusers, the pipeline does that (and the
 * trainer multiplies encoded latents by it).
 */
public final class AutoencoderKL implements AutoCloseable {
    private final VaeConfig config;
    private final NDManager manager;
    private final DataType dtype;
    private final Encoder encoder;
    private final Conv2d quantConv;
    private final Conv2d postQuantConv;
    private final Decoder decoder;

    private AutoencoderKL(VaeConfig config, NDManager manager, DataType dtype, Encoder encoder, Conv2d quantConv,
                          Conv2d postQuantConv, Decoder decoder) {
        this.config = config;
        this.manager = manager;
        this.dtype = dtype;
        this.encoder = encoder;
        this.quantConv = quantConv;
        this.postQuantConv = postQuantConv;
        this.decoder = decoder;
    }

    /** Loads {@code dir/config.json} and the weights next to it onto {@code device} as {@code dtype}. */
    public static AutoencoderKL load(Path dir, Device device, DataType dtype) {
        return load(dir, device, Precision.of(dtype));
    }

    /** As {@link #load(Path, Device, DataType)}, with the weights held as {@code precision} says. */
    public static AutoencoderKL load(Path dir, Device device, Precision precision) {
        VaeConfig config = VaeConfig.read(dir.resolve("config.json"));
        NDManager manager = NDManager.newBaseManager(device);
        try (Weights w = Weights.open(dir, "diffusion_pytorch_model", manager, precision)) {
            AutoencoderKL vae = build(config, w, manager, precision.compute());
            w.requireAllUsed();
            return vae;
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** Builds from already opened weights (tests, random weights); the model then owns {@code manager}. */
    public static AutoencoderKL build(VaeConfig config, Weights w, NDManager manager, DataType dtype) {
        long moments = 2L * config.latentChannels();
        long latent = config.latentChannels();
        Encoder encoder = Encoder.load(w.child("encoder"), config);
        Conv2d quant = config.useQuantConv() ? Conv2d.load(w.child("quant_conv"), moments, moments, 1, 1, 0) : null;
        Conv2d postQuant = config.usePostQuantConv()
                ? Conv2d.load(w.child("post_quant_conv"), latent, latent, 1, 1, 0) : null;
        Decoder decoder = Decoder.load(w.child("decoder"), config);
        return new AutoencoderKL(config, manager, dtype, encoder, quant, postQuant, decoder);
    }

    /**
     * @param image (B, in_channels, H, W) in [-1, 1], H and W multiples of {@link VaeConfig#downscaleFactor()}
     * @return the posterior over latents (B, latent_channels, H / f, W / f), not yet scaled by {@link #scalingFactor()}
     */
    public DiagonalGaussianDistribution encode(NDArray image) {
        requireShape("encode", image, config.inChannels());
        return Autograd.noGrad(() -> {
            NDArray moments = Scopes.run(() -> {
                NDArray m = encoder.forward(asModelType(image));
                return MemoryFormat.contiguous(quantConv != null ? quantConv.forward(m) : m);
            });
            try {
                return DiagonalGaussianDistribution.fromMoments(moments);
            } finally {
                moments.close();
            }
        });
    }

    /**
     * @param latent (B, latent_channels, h, w), already divided by {@link #scalingFactor()}
     * @return the decoded image (B, out_channels, h * f, w * f), raw (about [-1, 1], not clamped)
     */
    public NDArray decode(NDArray latent) {
        requireShape("decode", latent, config.latentChannels());
        return Autograd.noGrad(() -> Scopes.run(() -> {
            NDArray z = asModelType(latent);
            return MemoryFormat.contiguous(decoder.forward(postQuantConv != null ? postQuantConv.forward(z) : z));
        }));
    }

    private NDArray asModelType(NDArray x) {
        return Precision.cast(x, dtype);
    }

    private void requireShape(String op, NDArray x, int channels) {
        if (x.getShape().dimension() != 4 || x.getShape().get(1) != channels) {
            throw new IllegalArgumentException("AutoencoderKL." + op + ": expected (B, " + channels + ", H, W), got "
                    + x.getShape());
        }
    }

    public float scalingFactor() {
        return config.scalingFactor();
    }

    public VaeConfig config() {
        return config;
    }

    public DataType dtype() {
        return dtype;
    }

    @Override
    public void close() {
        manager.close();
    }
}
