package dev.selectune.diffusion.pipeline;

import dev.selectune.util.Problem;
import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.lora.LoraAdapters;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.schedulers.SamplingScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.schedulers.SchedulerOutput;
import dev.selectune.diffusion.schedulers.Schedulers;
import dev.selectune.diffusion.schedulers.StepNoise;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;

import java.nio.file.Path;
import java.util.Arrays;

/**
 * Text-to-image with classifier-free guidance, as diffusers' {@code StableDiffusionPipeline} and
 * {@code StableDiffusionXLPipeline}: encode the prompt and the negative prompt, start from seeded Gaussian latents,
 * run the scheduler's denoising loop on the UNet with the batch [negative, prompt] and
 * {@code uncond + g * (cond - uncond)} (an ancestral sampler's fresh noise also comes from the seed, see
 * {@link SeededLatents#stepNoise}), then decode {@code latents / scaling_factor} with the VAE and map to [0, 1].
 *
 * <p>Everything runs with gradients off. Each denoising step runs in its own manager, closed at the end of the
 * step, so memory stays flat however many steps run; only the current latents cross from one step to the next.
 */
public final class StableDiffusionPipeline implements AutoCloseable {
    private final PipelineFolder folder;
    private final Device device;
    private final DataType dtype;
    private final TextEncoders text;
    private final Owned<UNet2DConditionModel> unet;
    private final AutoencoderKL vae;
    private LoraAdapters loras;

    /** Told after each denoising step; throwing stops the generation (how a caller cancels one). */
    @FunctionalInterface
    public interface StepCallback {
        void afterStep(int stepsDone, int totalSteps);
    }

    private StableDiffusionPipeline(PipelineFolder folder, Device device, DataType dtype, TextEncoders text,
                                    Owned<UNet2DConditionModel> unet, AutoencoderKL vae) {
        this.folder = folder;
        this.device = device;
        this.dtype = dtype;
        this.text = text;
        this.unet = unet;
        this.vae = vae;
    }

    /** Checks the whole folder first, then loads every component onto {@code device} as {@code dtype}. */
    public static StableDiffusionPipeline load(Path dir, Device device, DataType dtype) {
        return load(dir, device, Precision.of(dtype));
    }

    /** As {@link #load(Path, Device, DataType)}, computing in {@code precision.compute()}, weights held as it says. */
    public static StableDiffusionPipeline load(Path dir, Device device, Precision precision) {
        PipelineFolder folder = PipelineFolder.open(dir);
        TextEncoders text = null;
        Owned<UNet2DConditionModel> unet = null;
        try {
            text = folder.loadTextEncoders(device, precision);
            unet = folder.loadUnet(device, precision);
            AutoencoderKL vae = folder.loadVae(device, precision);
            return new StableDiffusionPipeline(folder, device, precision.compute(), text, unet, vae);
        } catch (RuntimeException e) {
            if (unet != null) {
                unet.close();
            }
            if (text != null) {
                text.close();
            }
            throw e;
        }
    }

    public PipelineFolder folder() {
        return folder;
    }

    public Device device() {
        return device;
    }

    public UNet2DConditionModel unet() {
        return unet.model();
    }

    public AutoencoderKL vae() {
        return vae;
    }

    /**
     * The named LoRAs of this pipeline's UNet (diffusers' {@code load_lora_weights} / {@code set_adapters}): they
     * go on and off the UNet between generations while the base weights stay loaded.
     */
    public LoraAdapters loras() {
        if (loras == null) {
            loras = new LoraAdapters(unet.model(), unet.manager());
        }
        return loras;
    }

    /** The sampler {@code name} ({@link Schedulers#NAMES}) on this pipeline's noise schedule; null: the folder's own. */
    public SamplingScheduler sampler(String name) {
        Path dir = folder.component("scheduler");
        return name == null ? Schedulers.forSampling(dir)
                : Schedulers.named(name, SchedulerConfig.load(dir.resolve("scheduler_config.json")));
    }

    /** The sampler that runs for the folder's scheduler config (a DDIM or Euler fallback for other classes). */
    public String schedulerName() {
        String configured = folder.schedulerConfig().get("_class_name").getAsString();
        String used = Schedulers.forSampling(folder.component("scheduler")).getClass().getSimpleName();
        return configured.equals(used) ? used : used + " (for " + configured + ")";
    }

    /** diffusers' {@code encode_prompt}, honouring SDXL's {@code force_zeros_for_empty_prompt}. */
    public PromptEmbeddings encodePrompt(String prompt, String negativePrompt, NDManager into) {
        return text.encodePrompt(prompt, negativePrompt, folder.forceZerosForEmptyPrompt(), into);
    }

    /** Generates the image and writes it as a PNG. */
    public void generateToPng(GenerationRequest request, Path output) {
        try (NDManager work = NDManager.newBaseManager(device)) {
            Generation g = generate(request, null, work);
            PngImages.writePng(g.image(), output);
        }
    }

    /**
     * Runs the whole pipeline.
     *
     * @param latents the initial latents (1, C, H/f, W/f) before scaling by the scheduler's init_noise_sigma, or null
     *                to draw them from {@code request.seed()}
     * @param into    the manager that receives the results
     */
    public Generation generate(GenerationRequest request, NDArray latents, NDManager into) {
        return generate(request, sampler(null), latents, (done, total) -> { }, into);
    }

    /**
     * As {@link #generate(GenerationRequest, NDArray, NDManager)} with the sampler {@code sampler} (a fresh one: it
     * holds the state of this run) and {@code callback} told after every step.
     */
    public Generation generate(GenerationRequest request, SamplingScheduler sampler, NDArray latents,
                               StepCallback callback, NDManager into) {
        var problems = request.problems(vae.config().downscaleFactor());
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException("invalid generation request: " + Problem.join(problems));
        }
        return Autograd.noGrad(() -> {
            try (LoraNetwork lora = attachLora(request)) {
                PromptEmbeddings embeddings = encodePrompt(request.prompt(), request.negativePrompt(), into);
                NDArray initial = latents != null ? latents.duplicate()
                        : SeededLatents.normal(request.seed(), latentShape(request), into);
                initial.attach(into);
                NDArray finalLatents = denoise(request, sampler, embeddings, initial.toType(dtype, false), callback,
                        into);
                NDArray imageRaw = vae.decode(finalLatents.div(vae.scalingFactor())).toType(DataType.FLOAT32, false);
                NDArray image = imageRaw.div(2f).add(0.5f).clip(0f, 1f);
                return new Generation(embeddings, finalLatents.toType(DataType.FLOAT32, false), imageRaw, image);
            }
        });
    }

    /** The request's LoRA on the UNet at the request's scale, or null; closing it restores the base UNet. */
    private LoraNetwork attachLora(GenerationRequest request) {
        if (request.loraFile() == null) {
            return null;
        }
        LoraNetwork lora = LoraNetwork.load(request.loraFile(), unet.model(), unet.manager());
        lora.setScale(request.loraScale());
        return lora;
    }

    private Shape latentShape(GenerationRequest request) {
        int f = vae.config().downscaleFactor();
        return new Shape(1, unet.model().config().inChannels(), request.height() / f, request.width() / f);
    }

    /** The denoising loop; each step's tensors live in a sub-manager closed at the end of the step. */
    private NDArray denoise(GenerationRequest request, SamplingScheduler sampler, PromptEmbeddings embeddings,
                            NDArray initial, StepCallback callback, NDManager into) {
        sampler.setTimesteps(request.steps());
        boolean guided = request.guided();
        NDArray context = (guided ? embeddings.guidedBatch() : embeddings.promptEmbeds().duplicate()).toType(dtype, false);
        AddedConditions added = addedConditions(request, embeddings, guided, into);
        NDArray current = initial.mul(sampler.initNoiseSigma());
        StepNoise noise = SeededLatents.stepNoise(request.seed());
        for (int i = 0; i < sampler.timesteps().length; i++) {
            float t = sampler.timesteps()[i];
            try (NDManager step = into.newSubManager()) {
                current.attach(step);
                NDArray modelInput = guided ? NDArrays.concat(new NDList(current, current), 0) : current;
                modelInput = sampler.scaleModelInput(modelInput, i);
                float[] perItem = new float[Math.toIntExact(modelInput.getShape().get(0))];
                Arrays.fill(perItem, t);
                NDArray timestep = step.create(perItem);
                NDArray noisePred = unet.model().forward(modelInput, timestep, context, added);
                if (guided) {
                    NDList halves = noisePred.split(2, 0);
                    NDArray uncond = halves.get(0);
                    noisePred = uncond.add(halves.get(1).sub(uncond).mul(request.guidanceScale()));
                }
                SchedulerOutput out = sampler.step(noisePred, i, current, noise);
                NDArray next = out.prevSample();
                next.attach(into);
                current = next;
            }
            callback.afterStep(i + 1, sampler.timesteps().length);
        }
        return current;
    }

    /** SDXL's text_time conditions for the UNet batch: pooled text embeddings and (h, w, 0, 0, h, w) time ids. */
    private AddedConditions addedConditions(GenerationRequest request, PromptEmbeddings embeddings, boolean guided,
                                            NDManager into) {
        if (!unet.model().config().hasTextTimeEmbedding()) {
            return null;
        }
        if (!embeddings.hasPooled()) {
            throw new PipelineException(folder.dir() + ": the UNet expects text_time conditions (SDXL) but the"
                    + " pipeline has no second text encoder for pooled embeddings");
        }
        NDArray timeIds = addTimeIds(request.height(), request.width(), into);
        int batch = guided ? 2 : 1;
        NDArray pooled = guided ? embeddings.guidedPooledBatch() : embeddings.pooledPromptEmbeds().duplicate();
        NDArray ids = timeIds.broadcast(new Shape(batch, 6)).duplicate();
        return new AddedConditions(pooled.toType(dtype, false), ids.toType(dtype, false));
    }

    /** diffusers' {@code _get_add_time_ids}: original size, crop top-left (0, 0), target size, as (1, 6). */
    public static NDArray addTimeIds(int height, int width, NDManager into) {
        return into.create(new float[] {height, width, 0, 0, height, width}, new Shape(1, 6));
    }

    @Override
    public void close() {
        if (loras != null) {
            loras.close();
        }
        vae.close();
        unet.close();
        text.close();
    }
}
