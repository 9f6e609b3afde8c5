package dev.selectune.cli;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.lora.LoraException;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.pipeline.PngImages;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.diffusion.safetensors.SafeTensorsException;
import dev.selectune.evaluation.DreamBoothMetrics;
import dev.selectune.evaluation.DreamBoothPrompts;
import dev.selectune.evaluation.EvaluationReport;
import dev.selectune.evaluation.EvaluationSettings;
import dev.selectune.evaluation.Evaluator;
import dev.selectune.evaluation.ImageFiles;
import dev.selectune.evaluation.PromptScores;
import dev.selectune.evaluation.SampleGenerator;
import dev.selectune.evaluation.Scores;
import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.evaluation.io.EvaluationException;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.ParameterException;
import picocli.CommandLine.Spec;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * {@code selectune evaluate}: the DreamBooth metrics (DINO, CLIP-I, CLIP-T) of generated images against the real
 * photos of a subject. Either a folder of generated images ({@code --generated}, CLIP-T from {@code --prompts-file},
 * one line per image in file-name order), or a pipeline and LoRA that generate them first ({@code --model},
 * {@code --lora}, {@code --prompts}: prompts or {@code dreambooth} for the dataset's 25 with {@code --identifier} and
 * {@code --class-noun}). Writes {@code {"dino", "clip_i", "clip_t"}} (and, when generating, the scores per prompt)
 * to {@code --json}.
 */
@Command(name = "evaluate", mixinStandardHelpOptions = true,
        description = "Score generated images against real ones: DINO, CLIP-I and CLIP-T (DreamBooth definitions).")
public final class EvaluateCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--real", required = true, paramLabel = "DIR", description = "folder of the subject's real photos")
    Path real;

    @ArgGroup(exclusive = true, multiplicity = "1")
    Source source;

    static final class Source {
        @Option(names = "--generated", paramLabel = "DIR", description = "folder of generated images (file-name order)")
        Path generated;

        @Option(names = "--model", paramLabel = "DIR", description = "diffusers pipeline folder to generate with")
        Path model;
    }

    @Option(names = "--clip", required = true, paramLabel = "DIR", description = "Hugging Face CLIPModel folder")
    Path clip;

    @Option(names = "--dino", required = true, paramLabel = "DIR", description = "Hugging Face ViTModel (DINO) folder")
    Path dino;

    @Option(names = "--prompts-file", paramLabel = "FILE",
            description = "with --generated: the prompt of each generated image, one line per image in file-name order")
    Path promptsFile;

    @Option(names = "--json", required = true, paramLabel = "FILE", description = "where to write the scores")
    Path json;

    @Option(names = "--lora", paramLabel = "FILE", description = "with --model: the LoRA to generate with (none: the bare base)")
    Path lora;

    @Option(names = "--prompts", arity = "1..*", paramLabel = "PROMPT",
            description = "with --model: the prompts, or 'dreambooth' for the dataset's 25 (needs --identifier, --class-noun)")
    List<String> prompts;

    @Option(names = "--identifier", description = "the subject's identifier token (e.g. sks); removed from the CLIP-T text")
    String identifier;

    @Option(names = "--class-noun", description = "the subject's class noun (e.g. dog), for --prompts dreambooth")
    String classNoun;

    @Option(names = "--images-per-prompt", defaultValue = "4", description = "with --model (default: ${DEFAULT-VALUE})")
    int imagesPerPrompt;

    @Option(names = "--steps", defaultValue = "30", description = "with --model: sampling steps (default: ${DEFAULT-VALUE})")
    int steps;

    @Option(names = "--guidance", defaultValue = "7.5", description = "with --model (default: ${DEFAULT-VALUE})")
    float guidance;

    @Option(names = "--seed", defaultValue = "0", description = "with --model: seed of the first image of each prompt (default: ${DEFAULT-VALUE})")
    long seed;

    @Option(names = "--size", defaultValue = "0", description = "with --model: image side in pixels (default: native)")
    int size;

    @Option(names = "--save-generated", paramLabel = "DIR", description = "with --model: also write the generated PNGs here")
    Path saveGenerated;

    @Option(names = "--device", defaultValue = "cpu", description = "cpu, or gpu / gpu:N (default: ${DEFAULT-VALUE})")
    String device;

    @Override
    public Integer call() {
        requireDir("--real", real);
        requireDir("--clip", clip);
        requireDir("--dino", dino);
        Device dev = parseDevice();
        try {
            JsonObject out;
            if (source.generated != null) {
                out = scoreFolder(dev);
            } else {
                out = generateAndScore(dev);
            }
            Path parent = json.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Files.writeString(json, new GsonBuilder().setPrettyPrinting().serializeNulls().serializeSpecialFloatingPointValues()
                    .create().toJson(out) + "\n");
            spec.commandLine().getOut().printf("dino %.4f  clip_i %.4f  clip_t %s  -> %s%n", out.get("dino").getAsDouble(),
                    out.get("clip_i").getAsDouble(), out.get("clip_t").isJsonNull() ? "-" : String.format("%.4f",
                            out.get("clip_t").getAsDouble()), json);
            return 0;
        } catch (EvaluationException | PipelineException | WeightsException | SafeTensorsException | LoraException e) {
            spec.commandLine().getErr().println("evaluate: " + e.getMessage());
            return 1;
        } catch (IOException e) {
            spec.commandLine().getErr().println("evaluate: cannot write " + json + ": " + e.getMessage());
            return 1;
        }
    }

    private JsonObject scoreFolder(Device dev) throws IOException {
        requireDir("--generated", source.generated);
        for (String opt : List.of("--lora", "--prompts")) {
            if (spec.commandLine().getParseResult().hasMatchedOption(opt)) {
                throw new ParameterException(spec.commandLine(), opt + " only goes with --model");
            }
        }
        List<Path> files = ImageFiles.list(source.generated);
        if (files.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--generated: " + source.generated + " holds no images");
        }
        List<String> texts = null;
        if (promptsFile != null) {
            List<String> lines = Files.readAllLines(promptsFile).stream().filter(l -> !l.isBlank()).toList();
            if (lines.size() != files.size()) {
                throw new ParameterException(spec.commandLine(), "--prompts-file: " + lines.size() + " prompts for "
                        + files.size() + " generated images (one line per image, in file-name order)");
            }
            texts = new ArrayList<>();
            for (String l : lines) {
                texts.add(DreamBoothMetrics.clipTText(l.trim(), identifier));
            }
        }
        List<Rgb8Image> generated = new ArrayList<>();
        for (Path f : files) {
            generated.add(ImageFiles.read(f));
        }
        try (Evaluator evaluator = Evaluator.load(clip, dino, dev)) {
            Scores s = evaluator.score(ImageFiles.readAll(real), generated, texts);
            JsonObject out = scoresJson(s);
            out.addProperty("real_images", ImageFiles.list(real).size());
            out.addProperty("generated_images", generated.size());
            return out;
        }
    }

    private JsonObject generateAndScore(Device dev) {
        requireDir("--model", source.model);
        if (lora != null && !Files.isRegularFile(lora)) {
            throw new ParameterException(spec.commandLine(), "--lora: " + lora + " is not a file");
        }
        if (promptsFile != null) {
            throw new ParameterException(spec.commandLine(), "--prompts-file goes with --generated; with --model use --prompts");
        }
        if (prompts == null || prompts.isEmpty()) {
            throw new ParameterException(spec.commandLine(), "--prompts: required with --model");
        }
        List<String> list = prompts;
        if (prompts.size() == 1 && prompts.get(0).equals("dreambooth")) {
            if (identifier == null || classNoun == null) {
                throw new ParameterException(spec.commandLine(), "--prompts dreambooth needs --identifier and --class-noun");
            }
            list = DreamBoothPrompts.prompts(identifier, classNoun);
        }
        EvaluationSettings settings;
        try {
            settings = new EvaluationSettings(list, imagesPerPrompt, steps, guidance, seed, identifier, size);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(), "--" + e.getMessage().replace("_", "-"));
        }
        List<BufferedImage> images;
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(source.model, dev, DataType.FLOAT32)) {
            images = SampleGenerator.generate(pipeline, lora, settings, () -> false);
        }
        if (saveGenerated != null) {
            for (int i = 0; i < images.size(); i++) {
                PngImages.write(images.get(i), saveGenerated.resolve(String.format("%04d.png", i)));
            }
        }
        try (Evaluator evaluator = Evaluator.load(clip, dino, dev)) {
            EvaluationReport report = EvaluationReport.score(evaluator, evaluator.embedImages(ImageFiles.readAll(real)),
                    toRgb(images), settings);
            JsonObject out = scoresJson(report.overall());
            JsonArray per = new JsonArray();
            for (PromptScores p : report.perPrompt()) {
                JsonObject row = scoresJson(p.scores());
                row.addProperty("prompt", p.prompt());
                per.add(row);
            }
            out.add("per_prompt", per);
            out.addProperty("images_per_prompt", settings.imagesPerPrompt());
            out.addProperty("steps", settings.steps());
            out.addProperty("guidance", settings.guidance());
            out.addProperty("seed", settings.seed());
            return out;
        }
    }

    private static List<Rgb8Image> toRgb(List<BufferedImage> images) {
        List<Rgb8Image> out = new ArrayList<>();
        for (BufferedImage b : images) {
            out.add(Rgb8Image.of(b));
        }
        return out;
    }

    static JsonObject scoresJson(Scores s) {
        JsonObject o = new JsonObject();
        o.addProperty("dino", s.dino());
        o.addProperty("clip_i", s.clipI());
        if (s.clipT() == null) {
            o.add("clip_t", com.google.gson.JsonNull.INSTANCE);
        } else {
            o.addProperty("clip_t", s.clipT());
        }
        return o;
    }

    private void requireDir(String option, Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new ParameterException(spec.commandLine(), option + ": " + dir + " is not a directory");
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
