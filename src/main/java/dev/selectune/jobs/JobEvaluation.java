package dev.selectune.jobs;

import ai.djl.Device;
import com.google.gson.JsonObject;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.evaluation.EvaluationSettings;
import dev.selectune.evaluation.SampleGenerator;
import dev.selectune.evaluation.Scores;
import dev.selectune.evaluation.SubjectEvaluation;
import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.training.data.ImageDecoder;

import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;

/**
 * The evaluation step of a job that asked for it, run by the worker after training ({@link SubjectEvaluation}: the
 * LoRA's and the bare base model's images from the same prompts and seeds, both scored against the job's own
 * images). It leaves {@code evaluation.json} and {@code contact-sheet.png} in the job's output folder for the runner
 * to store with the LoRA, and puts the scores on the job row (ownership-guarded, as every worker write), into the
 * events and into the {@code selectune_evaluation_score} gauges.
 */
public class JobEvaluation {
    /**
     * @param files     the artifacts written (empty when cancelled)
     * @param cancelled the job was cancelled (or its worker is stopping) while evaluating: the LoRA is kept, the
     *                  evaluation is not
     */
    public record Outcome(List<Path> files, boolean cancelled) {
    }

    private final String workerId;
    private final Device device;
    private final JobQueue queue;
    private final EvaluatorRegistry evaluators;
    private final SelectuneMetrics metrics;

    JobEvaluation(String workerId, Device device, JobQueue queue, EvaluatorRegistry evaluators,
                  SelectuneMetrics metrics) {
        this.workerId = workerId;
        this.device = device;
        this.queue = queue;
        this.evaluators = evaluators;
        this.metrics = metrics;
    }

    Outcome run(JobQueue.Lease claim, Job job, EvaluationSpec spec, Path modelFolder, Path lora,
                List<byte[]> instanceImages, Path out, BooleanSupplier cancelled, Runnable leaseLost) {
        EvaluationSettings settings = spec.settings();
        if (!queue.event(claim, EventType.EVALUATING, String.format("evaluating: %d prompt(s) x %d image(s), %d"
                        + " steps, with the LoRA and with the base model", settings.prompts().size(),
                settings.imagesPerPrompt(), settings.steps()))) {
            leaseLost.run();
            return new Outcome(List.of(), false);
        }
        List<Rgb8Image> real = new ArrayList<>();
        for (int i = 0; i < instanceImages.size(); i++) {
            real.add(Rgb8Image.of(ImageDecoder.decode(instanceImages.get(i), i)));
        }
        SubjectEvaluation.Result r;
        try {
            r = SubjectEvaluation.run(modelFolder, device, lora, settings, evaluators.evaluator(device), real, cancelled);
        } catch (SampleGenerator.Cancelled e) {
            return new Outcome(List.of(), true);
        }
        List<Path> files = SubjectEvaluation.write(r, out);
        JsonObject summary = SubjectEvaluation.summaryJson(r);
        for (String row : List.of("lora", "base")) {
            Scores s = row.equals("lora") ? r.lora().overall() : r.base().overall();
            metrics.evaluationScore(job.getBaseModel(), "dino", row, s.dino());
            metrics.evaluationScore(job.getBaseModel(), "clip_i", row, s.clipI());
            metrics.evaluationScore(job.getBaseModel(), "clip_t", row, s.clipT());
        }
        metrics.evaluationDuration(Duration.ofMillis(Math.round(r.seconds() * 1000)));
        Scores l = r.lora().overall();
        Scores b = r.base().overall();
        String message = String.format("LoRA: dino %.4f clip_i %.4f clip_t %.4f; base model:"
                + " dino %.4f clip_i %.4f clip_t %.4f; evaluation took %.1f s", l.dino(), l.clipI(), l.clipT(),
                b.dino(), b.clipI(), b.clipT(), r.seconds());
        if (!queue.evaluated(claim, summary.toString(), message)) {
            leaseLost.run();
            return new Outcome(List.of(), false);
        }
        return new Outcome(files, false);
    }
}
