package dev.selectune.training;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.lora.LoraFormat;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.TorchRuntime;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.diffusion.pipeline.Generation;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.ModelInfo;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.diffusion.pipeline.TextEncoders;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.PromptEncoder;
import dev.selectune.training.data.Resolutions;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.data.TrainingDataBuilder;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.util.StepRandom;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;

/**
 * Runs one DreamBooth-LoRA job with selective optimization (BP-low / ZO-high, chosen per step by the schedule).
 * One instance per worker (device); {@link #run} loads the pipeline, prepares the data, trains, writes the results
 * into {@code outputDir} and releases every native tensor before it returns.
 *
 * <p>Order of work, so that bad input costs nothing and the training peak holds only the UNet: validate the config,
 * open the pipeline folder (JSON only), work out the resolutions, decode and check every image; then, with prior
 * preservation, generate the class images with the base pipeline and close it; load the VAE and text encoder(s),
 * encode images and prompts once, close them; load the UNet, attach the LoRA, run the steps; save the LoRA in both
 * namings and the metrics; close the UNet; generate the validation samples with the saved LoRA.
 */
public final class SelectiveTrainer {
    private final Path modelDir;
    private final Device device;

    public SelectiveTrainer(Path modelDir, Device device) {
        TorchRuntime.initialize();
        this.modelDir = modelDir;
        this.device = device;
    }

    /**
     * @param images      1 to {@link TrainingDataBuilder#MAX_IMAGES} encoded images (JPEG, PNG, WebP)
     * @param checkpoints where periodic and cancellation checkpoints go; a stored checkpoint is resumed from
     * @throws IllegalArgumentException bad input (unreadable or too-small image, invalid config), before any step
     */
    public TrainingResult run(List<byte[]> images, TrainingConfig config, Path outputDir, StepListener listener,
                              CancellationToken cancel, CheckpointStore checkpoints) {
        config.validate();
        PipelineFolder folder = PipelineFolder.open(modelDir);
        ModelInfo info = folder.info();
        int levels = folder.config("unet").getAsJsonArray("block_out_channels").size();
        Resolutions res = Resolutions.of(config.resolution(), config.resizeRatio(), info.nativeResolution(), info.vaeScaleFactor(), levels);
        List<BufferedImage> decoded = TrainingDataBuilder.decodeAll(images, res);
        // No seed given: a resumed job keeps the one its checkpoint was taken with, a new job draws one.
        long seed = config.seed() != null ? config.seed() : checkpoints.load()
                .map(blob -> TrainingCheckpoint.decode(blob).seed())
                .orElseGet(() -> new SecureRandom().nextLong());
        Precision dtype = WeightsDtype.parse(config.weightsDtype()).precision(dtype(config.precision()));
        DDPMScheduler scheduler = new DDPMScheduler(SchedulerConfig.fromJson(folder.schedulerConfig()));
        createDirectories(outputDir);

        List<BufferedImage> classImages = config.numClassImages() > 0
                ? generateClassImages(config, res, seed, dtype) : List.of();
        try (NDManager root = NDManager.newBaseManager(device)) {
            TrainingData data = encode(folder, decoded, classImages, config, res, dtype, root);
            TrainingLoop.Outcome outcome;
            Path peft = outputDir.resolve("lora.safetensors");
            Path kohya = outputDir.resolve("lora-kohya.safetensors");
            try (data; Owned<UNet2DConditionModel> unet = folder.loadUnet(device, dtype)) {
                long loraSeed = StepRandom.forPurpose(seed, "lora-init").nextLong();
                try (LoraNetwork lora = LoraNetwork.create(unet.model(), config.rank(), config.loraAlphaOrRank(),
                        loraSeed, root)) {
                    LoraParameters params = lora.parameters();
                    TrainingLoop loop = new TrainingLoop(new UNetDenoiser(unet.model()), params, scheduler, data,
                            config, seed, root, MemoryProbe.forDevice(device));
                    // Nothing records a graph unless a BP step asks for it (grad mode is on in new threads).
                    outcome = Autograd.noGrad(() -> loop.run(listener, cancel, checkpoints));
                    lora.save(peft, LoraFormat.PEFT);
                    lora.save(kohya, LoraFormat.KOHYA);
                }
            }
            Path metrics = MetricsFile.write(outputDir.resolve("metrics.json"), config, seed, outcome);
            List<Path> samples = outcome.cancelled() ? List.of() : samples(config, res, seed, dtype, peft, outputDir);
            return new TrainingResult(peft, kohya, metrics, samples, outcome.memory(), outcome.stepsDone(),
                    outcome.bpSteps(), outcome.zoSteps(), outcome.finalLoss(), seed, outcome.cancelled());
        }
    }

    /** Encodes images and prompts, then closes the VAE and the text encoders before the first step. */
    private TrainingData encode(PipelineFolder folder, List<BufferedImage> images, List<BufferedImage> classImages,
                                TrainingConfig config, Resolutions res, Precision dtype, NDManager root) {
        try (AutoencoderKL vae = folder.loadVae(device, dtype);
             TextEncoders text = folder.loadTextEncoders(device, dtype)) {
            return TrainingDataBuilder.encode(images, classImages, config.horizontalFlip(), config.instancePrompt(),
                    config.classPrompt(), res, vae, promptEncoder(text), root.newSubManager());
        }
    }

    /** SD 1.x/2.x: the text states. SDXL: the concatenated penultimate states, the pooled embeds and the time ids. */
    private static PromptEncoder promptEncoder(TextEncoders text) {
        return (prompt, resolution, into) -> {
            NDList encoded = text.encode(prompt, into);
            NDArray hidden = encoded.get(0).toType(DataType.FLOAT32, false);
            if (!text.isXl()) {
                return Conditioning.of(hidden);
            }
            NDArray timeIds = StableDiffusionPipeline.addTimeIds(resolution, resolution, into);
            return new Conditioning(hidden, encoded.get(1).toType(DataType.FLOAT32, false), timeIds);
        };
    }

    /** DreamBooth's prior preservation: class images from the base model, generated before training. */
    private List<BufferedImage> generateClassImages(TrainingConfig config, Resolutions res, long seed, Precision dtype) {
        List<BufferedImage> out = new ArrayList<>();
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(modelDir, device, dtype);
             NDManager work = NDManager.newBaseManager(device)) {
            for (int i = 0; i < config.numClassImages(); i++) {
                long imageSeed = StepRandom.forPurpose(seed, "class-image-" + i).nextLong();
                GenerationRequest request = new GenerationRequest(config.classPrompt(), "", res.high(), res.high(),
                        config.validationSteps(), (float) config.guidanceScale(), imageSeed, null, 1f);
                try (NDManager one = work.newSubManager()) {
                    Generation g = pipeline.generate(request, null, one);
                    out.add(toImage(g.image()));
                }
            }
        }
        return out;
    }

    /** One sample per validation prompt, generated with the trained LoRA at the high resolution. */
    private List<Path> samples(TrainingConfig config, Resolutions res, long seed, Precision dtype, Path lora, Path dir) {
        if (config.validationPrompts().isEmpty()) {
            return List.of();
        }
        List<Path> out = new ArrayList<>();
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(modelDir, device, dtype)) {
            for (int i = 0; i < config.validationPrompts().size(); i++) {
                Path file = dir.resolve("sample-" + i + ".png");
                pipeline.generateToPng(new GenerationRequest(config.validationPrompts().get(i), "", res.high(),
                        res.high(), config.validationSteps(), (float) config.guidanceScale(), seed + i, lora, 1f), file);
                out.add(file);
            }
        }
        return out;
    }

    /** (1, 3, H, W) in [0, 1] to an RGB image. */
    private static BufferedImage toImage(NDArray image) {
        int h = (int) image.getShape().get(2);
        int w = (int) image.getShape().get(3);
        float[] v = image.toType(DataType.FLOAT32, false).toFloatArray();
        BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                int r = Math.round(v[i] * 255f);
                int g = Math.round(v[plane + i] * 255f);
                int b = Math.round(v[2 * plane + i] * 255f);
                img.setRGB(x, y, (r << 16) | (g << 8) | b);
            }
        }
        return img;
    }

    private DataType dtype(String precision) {
        return switch (precision) {
            case "fp16" -> DataType.FLOAT16;
            case "fp32" -> DataType.FLOAT32;
            default -> device.isGpu() ? DataType.FLOAT16 : DataType.FLOAT32;
        };
    }

    private static void createDirectories(Path dir) {
        try {
            Files.createDirectories(dir);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create output folder " + dir + ": " + e.getMessage(), e);
        }
    }
}
