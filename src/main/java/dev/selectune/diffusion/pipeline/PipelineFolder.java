package dev.selectune.diffusion.pipeline;

import ai.djl.Device;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * A diffusers pipeline folder, checked whole before any weight is read.
 *
 * <p>{@link #open(Path)} reads {@code model_index.json}, decides which components the pipeline class needs
 * (SD 1.x/2.x: {@code unet}, {@code vae}, {@code text_encoder}, {@code tokenizer}, {@code scheduler}; SDXL and
 * SSD-1B add {@code text_encoder_2} and {@code tokenizer_2}), and checks that every one of them has its folder,
 * config and weights file, with a supported class. Loading a multi-gigabyte UNet and then failing on a missing
 * tokenizer file would waste minutes, so every such error is raised here and names the file.
 *
 * <p>Weights are loaded per component ({@link #loadTextEncoders}, {@link #loadUnet}, {@link #loadVae}), each result
 * owning the manager of its weights, so the trainer can load the VAE and text encoders, encode its data, close
 * them and keep only the UNet.
 */
public final class PipelineFolder {
    /** Weight-file stems of diffusers models ({@code unet}, {@code vae}) and of transformers models. */
    static final String DIFFUSERS_WEIGHTS = "diffusion_pytorch_model";
    static final String TRANSFORMERS_WEIGHTS = "model";

    private static final Set<String> UNET_CLASSES = Set.of("UNet2DConditionModel");
    private static final Set<String> VAE_CLASSES = Set.of("AutoencoderKL");
    private static final Set<String> TEXT_ENCODER_CLASSES = Set.of("CLIPTextModel", "CLIPTextModelWithProjection");
    private static final Set<String> TOKENIZER_CLASSES = Set.of("CLIPTokenizer", "CLIPTokenizerFast");

    private final Path dir;
    private final JsonObject modelIndex;
    private final String pipelineClass;
    private final Map<String, String> componentClasses;
    private final ModelInfo info;

    private PipelineFolder(Path dir, JsonObject modelIndex, Map<String, String> componentClasses, ModelInfo info) {
        this.dir = dir;
        this.modelIndex = modelIndex;
        this.pipelineClass = ModelInfo.string(modelIndex, "_class_name", "StableDiffusionPipeline");
        this.componentClasses = componentClasses;
        this.info = info;
    }

    /** Validates the folder (every component, config and weights file) without loading any weight. */
    public static PipelineFolder open(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new PipelineException(dir + ": not a directory (expected a diffusers pipeline folder)");
        }
        Path indexFile = dir.resolve("model_index.json");
        JsonObject index = ModelInfo.readJson(indexFile);
        String pipelineClass = ModelInfo.string(index, "_class_name", "StableDiffusionPipeline");
        if (!pipelineClass.startsWith("StableDiffusion")) {
            throw new PipelineException(indexFile + ": pipeline class '" + pipelineClass
                    + "' is not a Stable Diffusion text-to-image pipeline");
        }
        boolean xl = pipelineClass.contains("XL");
        List<String> required = new ArrayList<>(List.of("unet", "vae", "scheduler", "text_encoder", "tokenizer"));
        if (xl || present(index, "text_encoder_2")) {
            required.add("text_encoder_2");
            required.add("tokenizer_2");
        }
        Map<String, String> classes = new LinkedHashMap<>();
        for (String component : required) {
            String cls = componentClass(indexFile, index, component);
            classes.put(component, cls);
            checkComponent(dir, component, cls);
        }
        return new PipelineFolder(dir, index, classes, ModelInfo.read(dir));
    }

    private static boolean present(JsonObject index, String component) {
        JsonElement e = index.get(component);
        return e != null && e.isJsonArray() && e.getAsJsonArray().size() == 2 && !e.getAsJsonArray().get(1).isJsonNull();
    }

    private static String componentClass(Path indexFile, JsonObject index, String component) {
        if (!present(index, component)) {
            throw new PipelineException(indexFile + ": component '" + component + "' is missing or null");
        }
        JsonArray entry = index.getAsJsonArray(component);
        return entry.get(1).getAsString();
    }

    private static void checkComponent(Path dir, String component, String cls) {
        Path folder = dir.resolve(component);
        if (!Files.isDirectory(folder)) {
            throw new PipelineException(folder + ": missing component folder (model_index.json lists '"
                    + component + "' as " + cls + ")");
        }
        if (component.startsWith("unet")) {
            requireClass(folder, cls, UNET_CLASSES);
            requireFile(folder.resolve("config.json"));
            requireWeights(folder, DIFFUSERS_WEIGHTS);
        } else if (component.startsWith("vae")) {
            requireClass(folder, cls, VAE_CLASSES);
            requireFile(folder.resolve("config.json"));
            requireWeights(folder, DIFFUSERS_WEIGHTS);
        } else if (component.startsWith("text_encoder")) {
            requireClass(folder, cls, TEXT_ENCODER_CLASSES);
            requireFile(folder.resolve("config.json"));
            requireWeights(folder, TRANSFORMERS_WEIGHTS);
        } else if (component.startsWith("tokenizer")) {
            requireClass(folder, cls, TOKENIZER_CLASSES);
            requireFile(folder.resolve("vocab.json"));
            requireFile(folder.resolve("merges.txt"));
        } else if (component.equals("scheduler")) {
            requireFile(folder.resolve("scheduler_config.json"));
        }
    }

    private static void requireClass(Path folder, String cls, Set<String> supported) {
        if (!supported.contains(cls)) {
            throw new PipelineException(folder + ": component class '" + cls + "' is not supported (supported: "
                    + String.join(", ", supported) + ")");
        }
    }

    private static void requireFile(Path file) {
        if (!Files.isRegularFile(file)) {
            throw new PipelineException(file + ": missing");
        }
    }

    /** Finds a component's safetensors weights the way {@code Weights.open} will: plain, fp16 variant, or sharded. */
    static Path weightsFile(Path folder, String stem) {
        for (String name : List.of(stem + ".safetensors", stem + ".fp16.safetensors", stem + ".safetensors.index.json")) {
            Path p = folder.resolve(name);
            if (Files.isRegularFile(p)) {
                return p;
            }
        }
        return null;
    }

    private static void requireWeights(Path folder, String stem) {
        if (weightsFile(folder, stem) != null) {
            return;
        }
        String hint = Files.isRegularFile(folder.resolve(stem + ".bin"))
                ? " (only " + stem + ".bin is there: pickled PyTorch weights are not read, convert them to safetensors)"
                : "";
        throw new PipelineException(folder.resolve(stem + ".safetensors") + ": missing weights file" + hint);
    }

    public Path dir() {
        return dir;
    }

    public Path component(String name) {
        if (!componentClasses.containsKey(name)) {
            throw new PipelineException(dir.resolve("model_index.json") + ": this pipeline has no '" + name + "' component");
        }
        return dir.resolve(name);
    }

    /** The class model_index.json names for a component, e.g. {@code CLIPTextModelWithProjection}. */
    public String componentClass(String name) {
        component(name);
        return componentClasses.get(name);
    }

    public String pipelineClass() {
        return pipelineClass;
    }

    public ModelInfo info() {
        return info;
    }

    /** SDXL and SSD-1B: two text encoders, pooled embeddings and added time ids. */
    public boolean isXl() {
        return componentClasses.containsKey("text_encoder_2");
    }

    /** {@code force_zeros_for_empty_prompt} of SDXL's model_index.json: an empty negative prompt becomes zeros. */
    public boolean forceZerosForEmptyPrompt() {
        JsonElement e = modelIndex.get("force_zeros_for_empty_prompt");
        return e != null && e.isJsonPrimitive() && e.getAsBoolean();
    }

    /** The tokenizer(s) and text encoder(s) (SDXL: both), owning their weights. */
    public TextEncoders loadTextEncoders(Device device, DataType dtype) {
        return loadTextEncoders(device, Precision.of(dtype));
    }

    /** As {@link #loadTextEncoders(Device, DataType)}, with the weights held as {@code precision} says. */
    public TextEncoders loadTextEncoders(Device device, Precision precision) {
        return TextEncoders.load(this, device, precision);
    }

    /** The UNet, owning its weights; the trainer keeps only this resident. */
    public Owned<UNet2DConditionModel> loadUnet(Device device, DataType dtype) {
        return loadUnet(device, Precision.of(dtype));
    }

    /**
     * As {@link #loadUnet(Device, DataType)}, with the weights held as {@code precision} says; each tensor goes
     * from the mapped file straight into the held dtype.
     */
    public Owned<UNet2DConditionModel> loadUnet(Device device, Precision precision) {
        NDManager manager = NDManager.newBaseManager(device);
        try {
            return new Owned<>(UNet2DConditionModel.load(component("unet"), manager, precision), manager);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    /** The VAE, owning its weights. */
    public AutoencoderKL loadVae(Device device, DataType dtype) {
        return loadVae(device, Precision.of(dtype));
    }

    /** As {@link #loadVae(Device, DataType)}, with the weights held as {@code precision} says. */
    public AutoencoderKL loadVae(Device device, Precision precision) {
        return AutoencoderKL.load(component("vae"), device, precision);
    }

    public JsonObject config(String componentName) {
        String file = componentName.equals("scheduler") ? "scheduler_config.json" : "config.json";
        return ModelInfo.readJson(component(componentName).resolve(file));
    }

    public JsonObject schedulerConfig() {
        return config("scheduler");
    }

    @Override
    public String toString() {
        return pipelineClass + " at " + dir;
    }
}
