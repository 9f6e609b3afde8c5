package dev.selectune.evaluation;

import ai.djl.Device;
import ai.djl.ndarray.types.DataType;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.pipeline.PngImages;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.evaluation.image.Rgb8Image;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The evaluation of one trained LoRA, as the service's workers and {@code train} run it: generate the evaluation
 * images with the LoRA and with the bare base model (same prompts and seeds), score both rows against the subject's
 * real images, and write {@code evaluation.json} (overall and per prompt, both rows) and {@code contact-sheet.png}
 * (a row per prompt, LoRA left, base right).
 */
public final class SubjectEvaluation {
    public static final String REPORT = "evaluation.json";
    public static final String CONTACT_SHEET = "contact-sheet.png";

    /** Both rows of scores, the images behind them, and the wall time of generation plus scoring. */
    public record Result(EvaluationSettings settings, EvaluationReport lora, EvaluationReport base,
                         List<BufferedImage> loraImages, List<BufferedImage> baseImages, int realImages,
                         double seconds) {
    }

    private SubjectEvaluation() {
    }

    /**
     * @param lora      the trained LoRA file
     * @param cancelled checked before each generated image; when it turns true, {@link SampleGenerator.Cancelled}
     *                  is thrown and nothing is scored
     */
    public static Result run(Path modelFolder, Device device, Path lora, EvaluationSettings settings,
                             Evaluator evaluator, List<Rgb8Image> real, BooleanSupplier cancelled) {
        long started = System.nanoTime();
        List<BufferedImage> withLora;
        List<BufferedImage> base;
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(modelFolder, device, DataType.FLOAT32)) {
            withLora = SampleGenerator.generate(pipeline, lora, settings, cancelled);
            base = SampleGenerator.generate(pipeline, null, settings, cancelled);
        }
        EvaluationReport loraReport;
        EvaluationReport baseReport;
        synchronized (evaluator) {
            ImageEmbeddings realEmbeddings = evaluator.embedImages(real);
            loraReport = EvaluationReport.score(evaluator, realEmbeddings, rgb(withLora), settings);
            baseReport = EvaluationReport.score(evaluator, realEmbeddings, rgb(base), settings);
        }
        return new Result(settings, loraReport, baseReport, withLora, base, real.size(),
                (System.nanoTime() - started) / 1e9);
    }

    /** Writes {@code evaluation.json} and {@code contact-sheet.png} into {@code dir}; returns both paths. */
    public static List<Path> write(Result r, Path dir) {
        Path report = dir.resolve(REPORT);
        Path sheet = dir.resolve(CONTACT_SHEET);
        try {
            Files.createDirectories(dir);
            Files.writeString(report, new GsonBuilder().setPrettyPrinting().serializeNulls().create()
                    .toJson(reportJson(r)) + "\n");
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + report, e);
        }
        PngImages.write(ContactSheet.render(r.loraImages(), r.baseImages(), r.settings().imagesPerPrompt()), sheet);
        return List.of(report, sheet);
    }

    /** evaluation.json: the LoRA's scores at the top, {@code baseline} for the base model, per prompt both rows. */
    public static JsonObject reportJson(Result r) {
        JsonObject out = summaryJson(r);
        JsonArray perPrompt = new JsonArray();
        EvaluationSettings s = r.settings();
        for (int i = 0; i < s.prompts().size(); i++) {
            JsonObject row = new JsonObject();
            row.addProperty("prompt", s.prompts().get(i));
            row.add("lora", scoresJson(r.lora().perPrompt().get(i).scores()));
            row.add("base", scoresJson(r.base().perPrompt().get(i).scores()));
            perPrompt.add(row);
        }
        out.add("per_prompt", perPrompt);
        JsonObject settings = new JsonObject();
        settings.addProperty("images_per_prompt", s.imagesPerPrompt());
        settings.addProperty("steps", s.steps());
        settings.addProperty("guidance", s.guidance());
        settings.addProperty("seed", s.seed());
        settings.addProperty("identifier", s.identifier());
        settings.addProperty("clip_t_text", "the prompt without the identifier token");
        settings.addProperty("real_images", r.realImages());
        out.add("settings", settings);
        JsonObject sheet = new JsonObject();
        sheet.addProperty("file", CONTACT_SHEET);
        sheet.addProperty("rows", "the prompts, in per_prompt order");
        sheet.addProperty("left", "LoRA");
        sheet.addProperty("right", "base model, same seeds");
        out.add("contact_sheet", sheet);
        return out;
    }

    /** What a job shows: the LoRA's overall scores, {@code baseline} (the base model's) and {@code seconds}. */
    public static JsonObject summaryJson(Result r) {
        JsonObject out = scoresJson(r.lora().overall());
        out.add("baseline", scoresJson(r.base().overall()));
        out.addProperty("seconds", r.seconds());
        return out;
    }

    public static JsonObject scoresJson(Scores s) {
        JsonObject o = new JsonObject();
        o.addProperty("dino", s.dino());
        o.addProperty("clip_i", s.clipI());
        o.addProperty("clip_t", s.clipT());
        return o;
    }

    public static List<Rgb8Image> rgb(List<BufferedImage> images) {
        List<Rgb8Image> out = new ArrayList<>();
        for (BufferedImage b : images) {
            out.add(Rgb8Image.of(b));
        }
        return out;
    }
}
