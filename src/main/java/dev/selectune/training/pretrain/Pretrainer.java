package dev.selectune.training.pretrain;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.TorchRuntime;
import dev.selectune.diffusion.pipeline.ModelInfo;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.pipeline.TextEncoders;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.diffusion.vae.DiagonalGaussianDistribution;
import dev.selectune.util.StepRandom;
import dev.selectune.training.data.ImageDecoder;
import dev.selectune.training.data.ImagePreprocessor;
import dev.selectune.training.optim.AdamW;
import dev.selectune.training.optim.GradientClipping;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * Full-parameter training of a pipeline's UNet on a folder of subject photos (the DreamBooth dataset), keeping its
 * VAE and text encoder: it turns a random tiny UNet into a denoiser of real photos, so that a LoRA trained on top
 * of it can be told to personalize (lower the loss on its subject's photos more than on others').
 *
 * <p>As Stable Diffusion did with 0.18215, the latents are scaled to unit variance by a factor computed from the
 * data (1 / standard deviation of the VAE posterior means of every training image), which is written into the
 * output folder's {@code vae/config.json}. Every image is trained with one generic caption. Each step draws its
 * batch (images, timesteps, noise) from {@link StepRandom} with the seed and the step, so a run is repeatable.
 *
 * <p>The output is a standard diffusers folder: the base's model_index, scheduler, tokenizer and text encoder, its
 * VAE with the new scaling factor, the trained UNet, and {@code pretrain.json} saying how it was made.
 */
public final class Pretrainer {
    /** Losses of single steps are noisy (one random timestep per image): the final loss averages this many. */
    static final int LOSS_WINDOW = 50;

    private final Path baseModel;
    private final Path dataset;
    private final PretrainConfig config;

    /** One step's report, for progress output. */
    public interface StepListener {
        void onStep(int step, int steps, double loss, double gradNorm, double seconds);
    }

    /**
     * @param losses        every step's loss
     * @param finalLoss     the mean of the last {@link #LOSS_WINDOW} steps' losses (or of all, when fewer)
     * @param scalingFactor the VAE scaling factor computed from the data and written into the folder
     */
    public record Result(Path output, List<String> subjects, int images, float scalingFactor, List<Double> losses,
                         double finalLoss, long parameters, double seconds) {
    }

    public Pretrainer(Path baseModel, Path dataset, PretrainConfig config) {
        TorchRuntime.initialize();
        this.baseModel = baseModel;
        this.dataset = dataset;
        this.config = config.validate();
    }

    public Result run(Path output, StepListener listener) {
        long started = System.nanoTime();
        PipelineFolder folder = PipelineFolder.open(baseModel);
        if (folder.isXl()) {
            throw new IllegalArgumentException(baseModel + ": pretraining supports SD 1.x/2.x pipelines (one text"
                    + " encoder), not " + folder.pipelineClass());
        }
        List<String> subjects = subjects();
        List<BufferedImage> photos = photos(subjects);
        // Nothing records a graph but the UNet's own forward and backward (grad mode is per thread).
        return Autograd.noGrad(() -> train(folder, subjects, photos, output, listener, started));
    }

    private Result train(PipelineFolder folder, List<String> subjects, List<BufferedImage> photos, Path output,
                         StepListener listener, long started) {
        ModelInfo info = folder.info();
        int resolution = config.resolution() != null ? config.resolution() : info.nativeResolution();
        if (resolution % info.vaeScaleFactor() != 0) {
            throw new IllegalArgumentException("resolution: " + resolution + " px is not a multiple of the VAE scale "
                    + "factor " + info.vaeScaleFactor());
        }
        Device cpu = Device.cpu();
        try (NDManager root = NDManager.newBaseManager(cpu)) {
            float[][] latents = encodeImages(folder, photos, resolution);
            float scale = unitVarianceScale(latents);
            for (float[] l : latents) {
                for (int i = 0; i < l.length; i++) {
                    l[i] *= scale;
                }
            }
            int side = resolution / info.vaeScaleFactor();
            int channels = latents[0].length / (side * side);
            NDArray caption;
            try (TextEncoders text = folder.loadTextEncoders(cpu, DataType.FLOAT32)) {
                caption = text.encode(config.caption(), root).get(0).toType(DataType.FLOAT32, true);
            }
            DDPMScheduler scheduler = new DDPMScheduler(SchedulerConfig.fromJson(folder.schedulerConfig()));
            List<Double> losses = new ArrayList<>();
            long parameters;
            try (TrainableUNet unet = TrainableUNet.load(folder.component("unet"), root)) {
                parameters = unet.parameterCount();
                AdamW adam = new AdamW(unet.parameterList(), root, config.learningRate(), 0.9, 0.999, 1e-8,
                        config.weightDecay());
                Shape batchShape = new Shape(config.batchSize(), channels, side, side);
                for (int step = 1; step <= config.steps(); step++) {
                    long t0 = System.nanoTime();
                    double[] lossAndNorm = step(unet, adam, scheduler, latents, caption, batchShape, step, root);
                    losses.add(lossAndNorm[0]);
                    listener.onStep(step, config.steps(), lossAndNorm[0], lossAndNorm[1], (System.nanoTime() - t0) / 1e9);
                }
                writeFolder(folder, output, unet, scale);
            }
            double seconds = (System.nanoTime() - started) / 1e9;
            Result result = new Result(output, subjects, photos.size(), scale, List.copyOf(losses),
                    meanOfLast(losses, LOSS_WINDOW), parameters, seconds);
            writeProvenance(output, result);
            return result;
        }
    }

    /** One AdamW step on a batch of (image, timestep, noise) draws of this step's generator: {loss, grad norm}. */
    private double[] step(TrainableUNet unet, AdamW adam, DDPMScheduler scheduler, float[][] latents, NDArray caption,
                        Shape batchShape, int step, NDManager root) {
        SplittableRandom random = StepRandom.forStep(config.seed(), step);
        int batch = (int) batchShape.get(0);
        int per = latents[0].length;
        float[] clean = new float[batch * per];
        long[] timesteps = new long[batch];
        for (int b = 0; b < batch; b++) {
            System.arraycopy(latents[random.nextInt(latents.length)], 0, clean, b * per, per);
            timesteps[b] = random.nextInt(scheduler.numTrainTimesteps());
        }
        float[] noiseValues = StepRandom.gaussians(random, batch * per);
        try (NDManager m = root.newSubManager()) {
            NDArray x0 = m.create(clean, batchShape);
            NDArray noise = m.create(noiseValues, batchShape);
            NDArray noisy = scheduler.addNoise(x0, noise, timesteps);
            NDArray target = scheduler.target(x0, noise, timesteps);
            NDArray t = m.create(timesteps);
            NDArray context = caption.repeat(0, batch);
            context.attach(m);
            double loss = unet.model().lossAndBackward(noisy, t, context, null,
                    pred -> pred.sub(target).square().mean(), false).getFloat();
            List<NDArray> grads = unet.gradients();
            double norm;
            try {
                norm = GradientClipping.clipByGlobalNorm(grads, config.maxGradNorm());
                adam.step(grads);
            } finally {
                grads.forEach(NDArray::close);
            }
            unet.zeroGradients();
            return new double[] {loss, norm};
        }
    }

    /** The subject folders to train on: the config's, or every folder of the dataset that is not held out. */
    List<String> subjects() {
        List<String> all;
        try (Stream<Path> s = Files.list(dataset)) {
            all = s.filter(Files::isDirectory).map(p -> p.getFileName().toString()).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list the dataset folder " + dataset + ": " + e.getMessage(), e);
        }
        if (!config.subjects().isEmpty()) {
            for (String s : config.subjects()) {
                if (!all.contains(s)) {
                    throw new IllegalArgumentException("subjects: " + dataset + " has no folder '" + s + "'");
                }
            }
            return config.subjects().stream().sorted().toList();
        }
        List<String> kept = all.stream().filter(s -> !config.heldOut().contains(s)).toList();
        if (kept.isEmpty()) {
            throw new IllegalArgumentException(dataset + ": no subject folders left after holding out "
                    + config.heldOut());
        }
        return kept;
    }

    /** Every photo of the subjects, in folder then file-name order. */
    private List<BufferedImage> photos(List<String> subjects) {
        List<BufferedImage> out = new ArrayList<>();
        for (String subject : subjects) {
            for (Path file : imageFiles(dataset.resolve(subject))) {
                try {
                    out.add(ImageDecoder.decode(Files.readAllBytes(file), out.size()));
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot read " + file + ": " + e.getMessage(), e);
                } catch (IllegalArgumentException e) {
                    throw new IllegalArgumentException(file + ": " + e.getMessage(), e);
                }
            }
        }
        return out;
    }

    /** The image files (jpg, jpeg, png, webp) of one folder, sorted by name. */
    public static List<Path> imageFiles(Path dir) {
        try (Stream<Path> s = Files.list(dir)) {
            List<Path> files = s.filter(p -> p.getFileName().toString().toLowerCase(Locale.ROOT)
                    .matches(".*\\.(jpe?g|png|webp)")).sorted().toList();
            if (files.isEmpty()) {
                throw new IllegalArgumentException(dir + ": no images (jpg, png, webp)");
            }
            return files;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Posterior means, unscaled, of every image at the native resolution (and of its mirror image with flips). */
    private float[][] encodeImages(PipelineFolder folder, List<BufferedImage> photos, int resolution) {
        List<float[]> out = new ArrayList<>();
        try (AutoencoderKL vae = folder.loadVae(Device.cpu(), DataType.FLOAT32)) {
            for (BufferedImage img : photos) {
                out.add(encode(vae, img, resolution, false));
                if (config.horizontalFlip()) {
                    out.add(encode(vae, img, resolution, true));
                }
            }
        }
        return out.toArray(new float[0][]);
    }

    /** The VAE posterior mean of one image, centre-cropped and resized as the trainer does, not yet scaled. */
    public static float[] encode(AutoencoderKL vae, BufferedImage img, int resolution, boolean flip) {
        float[] pixels = ImagePreprocessor.centerCropResize(img, resolution, flip);
        try (NDManager m = NDManager.newBaseManager(Device.cpu())) {
            NDArray image = m.create(pixels, new Shape(1, 3, resolution, resolution));
            try (DiagonalGaussianDistribution posterior = vae.encode(image)) {
                return posterior.mean().toType(DataType.FLOAT32, false).toFloatArray();
            }
        }
    }

    /** 1 / standard deviation over every value of every latent (SD's 0.18215 was measured the same way). */
    public static float unitVarianceScale(float[][] latents) {
        double sum = 0;
        long n = 0;
        for (float[] l : latents) {
            for (float v : l) {
                sum += v;
                n++;
            }
        }
        double mean = sum / n;
        double squares = 0;
        for (float[] l : latents) {
            for (float v : l) {
                squares += (v - mean) * (v - mean);
            }
        }
        return (float) (1.0 / Math.sqrt(squares / n));
    }

    static double meanOfLast(List<Double> values, int window) {
        int from = Math.max(0, values.size() - window);
        return values.subList(from, values.size()).stream().mapToDouble(Double::doubleValue).average().orElse(Double.NaN);
    }

    /** The base folder's components with the trained UNet and the VAE config's new scaling factor. */
    private static void writeFolder(PipelineFolder base, Path output, TrainableUNet unet, float scale) {
        try {
            Files.createDirectories(output);
            Files.copy(base.dir().resolve("model_index.json"), output.resolve("model_index.json"),
                    StandardCopyOption.REPLACE_EXISTING);
            for (String component : List.of("scheduler", "text_encoder", "tokenizer", "vae", "unet")) {
                Path from = base.component(component);
                Path to = output.resolve(component);
                Files.createDirectories(to);
                try (Stream<Path> files = Files.list(from)) {
                    for (Path f : files.filter(Files::isRegularFile).toList()) {
                        String name = f.getFileName().toString();
                        boolean replaced = component.equals("unet") && name.endsWith(".safetensors")
                                || component.equals("vae") && name.equals("config.json");
                        if (!replaced) {
                            Files.copy(f, to.resolve(name), StandardCopyOption.REPLACE_EXISTING);
                        }
                    }
                }
            }
            JsonObject vaeConfig = base.config("vae");
            vaeConfig.addProperty("scaling_factor", scale);
            Files.writeString(output.resolve("vae/config.json"),
                    new GsonBuilder().setPrettyPrinting().create().toJson(vaeConfig) + "\n");
            unet.save(output.resolve("unet/diffusion_pytorch_model.safetensors"));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write the pretrained folder " + output + ": " + e.getMessage(), e);
        }
    }

    /** {@code pretrain.json}: the inputs and outcome of the run, so the folder says how it was made. */
    private void writeProvenance(Path output, Result r) {
        JsonObject o = new JsonObject();
        o.addProperty("base_model", baseModel.toString());
        o.addProperty("dataset", dataset.toString());
        JsonArray subjects = new JsonArray();
        r.subjects().forEach(subjects::add);
        o.add("subjects", subjects);
        JsonArray held = new JsonArray();
        config.heldOut().forEach(held::add);
        o.add("held_out", held);
        o.addProperty("images", r.images());
        o.addProperty("unet_parameters", r.parameters());
        o.addProperty("horizontal_flip", config.horizontalFlip());
        o.addProperty("resolution", config.resolution() != null ? config.resolution()
                : PipelineFolder.open(baseModel).info().nativeResolution());
        o.addProperty("steps", config.steps());
        o.addProperty("batch_size", config.batchSize());
        o.addProperty("seed", config.seed());
        o.addProperty("caption", config.caption());
        o.addProperty("learning_rate", config.learningRate());
        o.addProperty("weight_decay", config.weightDecay());
        o.addProperty("max_grad_norm", config.maxGradNorm());
        o.addProperty("vae_scaling_factor", r.scalingFactor());
        o.addProperty("first_loss", r.losses().get(0));
        o.addProperty("final_loss", r.finalLoss());
        o.addProperty("final_loss_window", Math.min(LOSS_WINDOW, r.losses().size()));
        JsonArray curve = new JsonArray();
        for (int from = 0; from < r.losses().size(); from += LOSS_WINDOW) {
            List<Double> chunk = r.losses().subList(from, Math.min(r.losses().size(), from + LOSS_WINDOW));
            curve.add(meanOfLast(chunk, chunk.size()));
        }
        o.add("loss_per_50_steps", curve);
        o.addProperty("seconds", r.seconds());
        try {
            Files.writeString(output.resolve("pretrain.json"), new GsonBuilder().setPrettyPrinting().create().toJson(o)
                    + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + output.resolve("pretrain.json") + ": " + e.getMessage(), e);
        }
    }
}
