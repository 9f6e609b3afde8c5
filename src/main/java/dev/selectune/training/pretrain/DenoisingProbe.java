package dev.selectune.training.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.util.StepRandom;

import java.util.List;
import java.util.SplittableRandom;

/**
 * The denoising loss of a UNet on fixed draws: for every image, {@code drawsPerBand} (timestep, noise) pairs in each
 * of the four timestep bands [0, 250), [250, 500), [500, 750), [750, 1000), drawn once from the seed and the image's
 * index. The same draws score the base model and every LoRA, so the ratio of two models' losses compares them on
 * identical inputs and most of the sampling noise cancels.
 */
public final class DenoisingProbe {
    public static final int BANDS = 4;
    public static final int BAND_WIDTH = 250;

    private final List<float[]> latents;
    private final Shape shape;
    private final NDArray context;
    private final DDPMScheduler scheduler;
    private final int drawsPerBand;
    private final long seed;

    /**
     * @param latents one scaled latent (C * h * w values) per image
     * @param shape   (1, C, h, w)
     * @param context the prompt's text states (1, 77, D)
     */
    public DenoisingProbe(List<float[]> latents, Shape shape, NDArray context, DDPMScheduler scheduler,
                          int drawsPerBand, long seed) {
        this.latents = List.copyOf(latents);
        this.shape = shape;
        this.context = context;
        this.scheduler = scheduler;
        this.drawsPerBand = drawsPerBand;
        this.seed = seed;
    }

    /** The band of draw {@code d}: draws are laid out band by band. */
    public int band(int draw) {
        return draw / drawsPerBand;
    }

    /** losses[image][draw], MSE of the prediction against the target, with whatever LoRA {@code unet} carries. */
    public double[][] losses(UNet2DConditionModel unet) {
        double[][] out = new double[latents.size()][];
        for (int i = 0; i < latents.size(); i++) {
            out[i] = imageLosses(unet, i);
        }
        return out;
    }

    private double[] imageLosses(UNet2DConditionModel unet, int image) {
        int n = BANDS * drawsPerBand;
        int per = latents.get(image).length;
        SplittableRandom random = StepRandom.forPurpose(seed, "probe-image-" + image);
        long[] timesteps = new long[n];
        float[] clean = new float[n * per];
        for (int d = 0; d < n; d++) {
            timesteps[d] = (long) band(d) * BAND_WIDTH + random.nextInt(BAND_WIDTH);
            System.arraycopy(latents.get(image), 0, clean, d * per, per);
        }
        float[] noiseValues = StepRandom.gaussians(random, n * per);
        Shape batch = new Shape(n, shape.get(1), shape.get(2), shape.get(3));
        return Autograd.noGrad(() -> {
            try (NDManager m = context.getManager().newSubManager()) {
                NDArray x0 = m.create(clean, batch);
                NDArray noise = m.create(noiseValues, batch);
                NDArray noisy = scheduler.addNoise(x0, noise, timesteps);
                NDArray target = scheduler.target(x0, noise, timesteps);
                NDArray ctx = context.repeat(0, n);
                ctx.attach(m);
                NDArray pred = unet.forward(noisy, m.create(timesteps), ctx, null);
                pred.attach(m);
                float[] perDraw = pred.sub(target).square().reshape(n, -1).mean(new int[] {1}).toFloatArray();
                double[] out = new double[n];
                for (int d = 0; d < n; d++) {
                    out[d] = perDraw[d];
                }
                return out;
            }
        });
    }
}
