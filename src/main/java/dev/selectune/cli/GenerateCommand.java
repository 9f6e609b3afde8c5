package dev.selectune.cli;

import dev.selectune.util.Problem;
import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.lora.LoraException;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.diffusion.safetensors.SafeTensorsException;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code selectune generate}: text-to-image from a diffusers pipeline folder, optionally with a LoRA, to a PNG.
 * Bad arguments and broken model folders end with a one-line message naming the option or file (exit code 2 for
 * usage errors, 1 for a model that cannot be loaded), never with a stack trace.
 */
@Command(name = "generate", mixinStandardHelpOptions = true,
        description = "Generate an image from a prompt with a Stable Diffusion pipeline folder (optionally with a LoRA).")
public final class GenerateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--model", required = true, paramLabel = "DIR", description = "diffusers pipeline folder")
    Path model;

    @Option(names = "--prompt", required = true, description = "the text prompt")
    String prompt;

    @Option(names = "--negative-prompt", defaultValue = "", description = "negative prompt (default: empty)")
    String negativePrompt;

    @Option(names = "--lora", paramLabel = "FILE", description = "UNet LoRA safetensors (PEFT, diffusers or kohya naming)")
    Path lora;

    @Option(names = "--lora-scale", defaultValue = "1.0", description = "LoRA strength (default: ${DEFAULT-VALUE})")
    float loraScale;

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
        if (lora != null && !Files.isRegularFile(lora)) {
            throw new ParameterException(spec.commandLine(), "--lora: " + lora + " is not a file");
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
                    height != null ? height : size, steps, guidance, seed, lora, loraScale);
            List<Problem> problems = request.problems(pipeline.folder().info().vaeScaleFactor());
            if (!problems.isEmpty()) {
                throw new ParameterException(spec.commandLine(), Problem.join(problems));
            }
            double loaded = (System.nanoTime() - started) / 1e9;
            pipeline.generateToPng(request, output);
            double total = (System.nanoTime() - started) / 1e9;
            spec.commandLine().getOut().printf("wrote %s (%dx%d, %d steps, %s) in %.1f s (load %.1f s)%n", output,
                    request.width(), request.height(), steps, pipeline.schedulerName(), total, loaded);
            return 0;
        } catch (PipelineException | WeightsException | SafeTensorsException | LoraException e) {
            spec.commandLine().getErr().println("generate: " + e.getMessage());
            return 1;
        }
    }

    private Device parseDevice() {
        try {
            return Device.fromName(device);
        } catch (RuntimeException e) {
            throw new ParameterException(spec.commandLine(), "--device: unknown device '" + device + "'");
        }
    }
}
