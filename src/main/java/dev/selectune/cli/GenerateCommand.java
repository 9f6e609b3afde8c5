package dev.selectune.cli;

import dev.selectune.util.Problem;
import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.lora.LoraException;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.diffusion.nn.WeightsException;
import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.PngImages;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.diffusion.safetensors.SafeTensorsException;
import dev.selectune.diffusion.schedulers.Schedulers;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code selectune generate}: text-to-image from a diffusers pipeline folder, optionally with a LoRA, to a PNG.
 * Bad arguments and broken model folders end with a one-line message naming the option or file (exit code 2 for
 * usage errors, 1 for a model that cannot be loaded), never with a stack trace.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate an image from a prompt with a Stable Diffusion pipeline folder (optionally with LoRAs).")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "diffusers pipeline folder")
    Path model;

    @Option(names = "--prompt", required = true, description = "the text prompt")
    String prompt;

    @Option(names = "--negative-prompt", defaultValue = "", description = "negative prompt (default: empty)")
    String negativePrompt;

    @Option(names = "--lora", paramLabel = "FILE[:SCALE]", description = "UNet LoRA safetensors (PEFT, diffusers or "
            + "kohya naming) at SCALE (default --lora-scale); repeat it to compose several, as diffusers' set_adapters")
    List<String> loras = List.of();

    @Option(names = "--lora-scale", defaultValue = "1.0", description = "the scale of a --lora without one "
            + "(default: ${DEFAULT-VALUE})")
    float loraScale;

    @Option(names = "--scheduler", paramLabel = "NAME", description = "ddim, euler, dpmsolver++, pndm or ddpm on the "
            + "model's noise schedule (default: the model's own scheduler)")
    String scheduler;

    @Option(names = "--width", description = "image width in pixels (default: the model's native resolution)")
    Integer width;

    @Option(names = "--height", description = "image height in pixels (default: the model's native resolution)")
    Integer height;

    @Option(names = "--steps", defaultValue = "30", description = "denoising steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "classifier-free guidance scale (default: ${DEFAULT-VALUE})")
    float guidance;

    @Option(names = "--seed", defaultValue = "0", description = "seed of the initial latents (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--output", required = true, paramLabel = "PNG", description = "where to write the PNG")
    Path output;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, or gpu / gpu:N (default: ${DEFAULT-VALUE})")
    String device;

    @Option(names = "--fp16", description = "hold the weights in float16 (GPU only)")
    boolean fp16;

    @Option(names = "--weights-dtype", defaultValue = "auto", description = "weights held as auto (the compute "
            + "dtype's), fp32 or fp16 (half the memory on the CPU, computed in fp32) (default: ${DEFAULT-VALUE})")
    String weightsDtype;

    @Override
    public Integer call() {
        if (!Files.isDirectory(model)) {
            throw new ParameterException(spec.commandLine(), "--model: " + model + " is not a directory");
        }
        Map<Path, Float> adapters = parseLoras();
        if (scheduler != null && !Schedulers.NAMES.contains(scheduler)) {
            throw new ParameterException(spec.commandLine(), "--scheduler: unknown scheduler '" + scheduler
                    + "' (expected one of " + String.join(", ", Schedulers.NAMES) + ")");
        }
        Device dev = parseDevice();
        if (fp16 && !dev.isGpu()) {
            throw new ParameterException(spec.commandLine(), "--fp16: float16 inference needs a GPU (--device gpu)");
        }
        WeightsDtype held;
        try {
            held = WeightsDtype.parse(weightsDtype);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--weights-dtype: " + e.getMessage());
        }
        long started = System.nanoTime();
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(model, dev,
                held.precision(fp16 ? DataType.FLOAT16 : DataType.FLOAT32))) {
            int size = pipeline.folder().info().nativeResolution();
            GenerationRequest request = new GenerationRequest(prompt, negativePrompt, width != null ? width : size,
                    height != null ? height : size, steps, guidance, seed, null, 1f);
            List<Problem> problems = request.problems(pipeline.folder().info().vaeScaleFactor());
            if (!problems.isEmpty()) {
                throw new ParameterException(spec.commandLine(), Problem.join(problems));
            }
            Map<String, Float> weights = new LinkedHashMap<>();
            for (Map.Entry<Path, Float> a : adapters.entrySet()) {
                String name = "lora" + weights.size();
                pipeline.loras().load(name, a.getKey());
                weights.put(name, a.getValue());
            }
            pipeline.loras().set(weights);
            double loaded = (System.nanoTime() - started) / 1e9;
            try (NDManager work = NDManager.newBaseManager(dev)) {
                PngImages.writePng(pipeline.generate(request, pipeline.sampler(scheduler), null, (done, total) -> { },
                        work).image(), output);
            }
            double total = (System.nanoTime() - started) / 1e9;
            spec.commandLine().getOut().printf("wrote %s (%dx%d, %d steps, %s) in %.1f s (load %.1f s)%n", output,
                    request.width(), request.height(), steps,
                    scheduler != null ? scheduler : pipeline.schedulerName(), total, loaded);
            return 0;
        } catch (PipelineException | WeightsException | SafeTensorsException | LoraException e) {
            spec.commandLine().getErr().println("generate: " + e.getMessage());
            return 1;
        }
    }

    /** Each {@code --lora FILE[:SCALE]} (the scale after the last colon, when it is a number) in order. */
    private Map<Path, Float> parseLoras() {
        Map<Path, Float> out = new LinkedHashMap<>();
        for (String value : loras) {
            int colon = value.lastIndexOf(':');
            Path file = Path.of(value);
            float scale = loraScale;
            if (colon > 0 && !Files.isRegularFile(file)) {
                try {
                    scale = Float.parseFloat(value.substring(colon + 1));
                    file = Path.of(value.substring(0, colon));
                } catch (NumberFormatException e) {
                    throw new ParameterException(spec.commandLine(), "--lora: '" + value.substring(colon + 1)
                            + "' in " + value + " is not a scale (FILE[:SCALE])");
                }
            }
            if (!Float.isFinite(scale)) {
                throw new ParameterException(spec.commandLine(), "--lora: scale " + scale + " must be finite");
            }
            if (!Files.isRegularFile(file)) {
                throw new ParameterException(spec.commandLine(), "--lora: " + file + " is not a file");
            }
            if (out.put(file, scale) != null) {
                throw new ParameterException(spec.commandLine(), "--lora: " + file + " is given twice");
            }
        }
        return out;
    }

    private Device parseDevice() {
        try {
            return Device.fromName(device);
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "--device: unknown device '" + device + "'");
        }
    }
}
