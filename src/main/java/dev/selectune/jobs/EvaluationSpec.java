package dev.selectune.jobs;

import dev.selectune.util.Problem;
import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.evaluation.DreamBoothPrompts;
import dev.selectune.evaluation.EvaluationSettings;
import dev.selectune.training.HyperparameterRange;
import tools.jackson.databind.PropertyNamingStrategies;
import tools.jackson.databind.annotation.JsonNaming;

import java.util.ArrayList;
import java.util.List;

/**
 * A job's {@code evaluation} request: after training, generate {@code images_per_prompt} images per prompt with the
 * LoRA and with the bare base model (same prompts and seeds) and score both against the job's images.
 *
 * @param prompts    a list of prompts, or {@code "dreambooth"} for the dataset's 25 templates filled with
 *                   {@code identifier} and {@code class_noun}
 * @param identifier the subject's token (e.g. sks): fills the templates and is removed from the CLIP-T text
 * @param size       image side in pixels; absent for the model's native resolution
 */
@JsonNaming(PropertyNamingStrategies.SnakeCaseStrategy.class)
@JsonInclude(JsonInclude.Include.NON_NULL)
public record EvaluationSpec(Object prompts, String identifier, String classNoun, Integer imagesPerPrompt,
                             Integer steps, Double guidance, Long seed, Integer size) {
    public static final String DREAMBOOTH = "dreambooth";
    /**
     * The API's bounds of the numeric settings (narrower than the library's: a job's evaluation shares the worker
     * with other jobs). openapi.yaml's EvaluationRequest documents them, and the defaults of
     * {@link EvaluationSettings}; a test holds it to both.
     */
    public static final HyperparameterRange IMAGES_PER_PROMPT = new HyperparameterRange("images_per_prompt", 1, false,
            16, false, true);
    public static final HyperparameterRange STEPS = new HyperparameterRange("steps", 1, false, 200, false, true);
    public static final HyperparameterRange GUIDANCE = new HyperparameterRange("guidance", 0, false, 30, false, false);
    public static final HyperparameterRange SIZE = new HyperparameterRange("size", 8, false, 2048, false, true);
    public static final List<HyperparameterRange> RANGES = List.of(IMAGES_PER_PROMPT, STEPS, GUIDANCE, SIZE);

    /** What is wrong, each field under "evaluation." as the job spec nests it. */
    public List<Problem> problems() {
        List<Problem> out = new ArrayList<>();
        if (prompts == null) {
            out.add(new Problem("evaluation.prompts", "required (a list of prompts, or \"dreambooth\")"));
        } else if (prompts instanceof String s) {
            if (!s.equals(DREAMBOOTH)) {
                out.add(new Problem("evaluation.prompts", "a string must be \"dreambooth\"; give other prompts as a list"));
            } else {
                if (blank(identifier)) {
                    out.add(new Problem("evaluation.identifier", "required with \"dreambooth\" prompts (e.g. \"sks\")"));
                }
                if (blank(classNoun)) {
                    out.add(new Problem("evaluation.class_noun", "required with \"dreambooth\" prompts (e.g. \"dog\")"));
                }
            }
        } else if (prompts instanceof List<?> list) {
            if (list.isEmpty() || list.size() > 100) {
                out.add(new Problem("evaluation.prompts", "between 1 and 100 prompts, got " + list.size()));
            }
            for (int i = 0; i < list.size(); i++) {
                if (!(list.get(i) instanceof String p) || p.isBlank() || p.length() > 1000) {
                    out.add(new Problem("evaluation.prompts[" + i + "]", "must be a non-empty string of at most 1000 characters"));
                }
            }
        } else {
            out.add(new Problem("evaluation.prompts", "must be a list of prompts or \"dreambooth\""));
        }
        range(out, IMAGES_PER_PROMPT, imagesPerPrompt);
        range(out, STEPS, steps);
        range(out, GUIDANCE, guidance);
        if (size != null && (!SIZE.contains(size) || size % 8 != 0)) {
            out.add(new Problem("evaluation.size", size + " must be a multiple of 8 in " + bounds(SIZE)));
        }
        if (identifier != null && identifier.trim().contains(" ")) {
            out.add(new Problem("evaluation.identifier", "one word, got '" + identifier + "'"));
        }
        return out;
    }

    /** This request with its defaults filled in, as the job stores it. */
    public EvaluationSpec resolved() {
        return new EvaluationSpec(prompts, identifier, classNoun,
                imagesPerPrompt == null ? EvaluationSettings.DEFAULT_IMAGES_PER_PROMPT : imagesPerPrompt,
                steps == null ? EvaluationSettings.DEFAULT_STEPS : steps,
                guidance == null ? (double) EvaluationSettings.DEFAULT_GUIDANCE : guidance,
                seed == null ? EvaluationSettings.DEFAULT_SEED : seed, size);
    }

    /** The library's settings: the prompts expanded, defaults applied. */
    public EvaluationSettings settings() {
        EvaluationSpec r = resolved();
        List<String> list = new ArrayList<>();
        if (prompts instanceof String) {
            list.addAll(DreamBoothPrompts.prompts(identifier, classNoun));
        } else {
            ((List<?>) prompts).forEach(p -> list.add((String) p));
        }
        return new EvaluationSettings(list, r.imagesPerPrompt(), r.steps(), r.guidance().floatValue(), r.seed(),
                identifier, size == null ? 0 : size);
    }

    private static boolean blank(String s) {
        return s == null || s.isBlank();
    }

    private static void range(List<Problem> out, HyperparameterRange range, Number v) {
        if (v != null && !range.contains(v.doubleValue())) {
            out.add(new Problem("evaluation." + range.name(), v + " is outside " + bounds(range)));
        }
    }

    private static String bounds(HyperparameterRange r) {
        return (long) r.min() + ".." + (long) r.max();
    }
}
