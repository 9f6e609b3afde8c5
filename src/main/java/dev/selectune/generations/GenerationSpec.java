package dev.selectune.generations;

import dev.selectune.diffusion.pipeline.ModelInfo;
import dev.selectune.diffusion.schedulers.Schedulers;
import dev.selectune.jobs.Metadata;
import dev.selectune.util.Problem;
import dev.selectune.training.TrainingConfig;
import dev.selectune.webhooks.WebhookRequest;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * A generation as a client asks for it ({@code POST /v1/generations}); absent fields take the defaults that
 * {@link GenerationService} fills in, and that resolved form ({@link ResolvedGeneration}) is what is stored and shown.
 *
 * @param loras     LoRAs of the tenant's jobs, composed at their scales (diffusers' {@code set_adapters})
 * @param n         images, 1 to {@value #MAX_IMAGES}; image i is drawn from seed + i
 * @param scheduler one of {@link Schedulers#NAMES}; absent: the base model's own
 * @param webhook   called back (Standard Webhooks) on the events of {@code webhookEventsFilter}, all when absent
 */
public record GenerationSpec(String baseModel, List<LoraRequest> loras, String prompt, String negativePrompt, Integer n,
                             Integer width, Integer height, Integer steps, Double guidanceScale, String scheduler,
                             Long seed, Map<String, String> metadata, String webhook,
                             List<String> webhookEventsFilter) {
    public static final int MAX_IMAGES = 8;
    public static final int MAX_LORAS = 8;
    public static final int MAX_STEPS = 200;
    public static final double MAX_GUIDANCE = 50;
    public static final double MAX_LORA_SCALE = 10;
    /** Seeds up to this leave room for seed + index in a signed 64-bit integer. */
    public static final long MAX_SEED = Long.MAX_VALUE - MAX_IMAGES;
    public static final int MAX_PROMPT_CHARS = 2000;

    /**
     * One LoRA: a job of the tenant ({@code job_id}, optionally the {@code artifact} name, by default
     * {@code lora.safetensors}) or the URL of one of its artifacts on this service, and its scale (default 1).
     */
    public record LoraRequest(String jobId, String artifact, String url, Double scale) {
    }

    /** The webhook asked for, or null: checked and registered by the webhooks package, as a job's is. */
    public WebhookRequest webhookRequest() {
        return webhook == null && webhookEventsFilter == null ? null : new WebhookRequest(webhook, webhookEventsFilter);
    }

    /** The size a model gives when none is asked for, and the size limit. */
    static int maxSide(ModelInfo model) {
        return Math.max(2048, 2 * model.nativeResolution());
    }

    /** What is wrong with the fields that need no lookup, each naming its field; {@code model} null: not checked. */
    public List<Problem> problems(ModelInfo model) {
        List<Problem> out = new ArrayList<>();
        if (prompt == null) {
            out.add(new Problem("prompt", "required"));
        } else {
            text(out, "prompt", prompt);
        }
        if (negativePrompt != null) {
            text(out, "negative_prompt", negativePrompt);
        }
        if (n != null && (n < 1 || n > MAX_IMAGES)) {
            out.add(new Problem("n", "must be between 1 and " + MAX_IMAGES + ", got " + n));
        }
        if (model != null) {
            side(out, "width", width, model);
            side(out, "height", height, model);
        }
        if (steps != null && (steps < 1 || steps > MAX_STEPS)) {
            out.add(new Problem("steps", "must be between 1 and " + MAX_STEPS + ", got " + steps));
        }
        if (guidanceScale != null && (!Double.isFinite(guidanceScale) || guidanceScale < 0
                || guidanceScale > MAX_GUIDANCE)) {
            out.add(new Problem("guidance_scale", "must be between 0 and " + (int) MAX_GUIDANCE + ", got "
                    + guidanceScale));
        }
        if (scheduler != null && !Schedulers.NAMES.contains(scheduler)) {
            out.add(new Problem("scheduler", "unknown scheduler '" + scheduler + "' (expected one of "
                    + String.join(", ", Schedulers.NAMES) + ")"));
        }
        if (seed != null && (seed < 0 || seed > MAX_SEED)) {
            out.add(new Problem("seed", "must be between 0 and " + MAX_SEED + ", got " + seed));
        }
        out.addAll(Metadata.problems(metadata));
        if (loras != null) {
            if (loras.size() > MAX_LORAS) {
                out.add(new Problem("loras", "at most " + MAX_LORAS + " LoRAs, got " + loras.size()));
            }
            for (int i = 0; i < loras.size(); i++) {
                LoraRequest l = loras.get(i);
                String at = "loras[" + i + "]";
                if (l == null) {
                    out.add(new Problem(at, "must be an object with job_id or url"));
                    continue;
                }
                if ((l.jobId() == null) == (l.url() == null)) {
                    out.add(new Problem(at, "give job_id or url, exactly one of them"));
                }
                if (l.url() != null && l.artifact() != null) {
                    out.add(new Problem(at + ".artifact", "the url names the artifact already"));
                }
                if (l.jobId() != null && !l.jobId().matches("[A-Za-z0-9_-]{1,64}")) {
                    out.add(new Problem(at + ".job_id", "not a job id (like job_3kq7v2m4x5p6r7s8t9ua)"));
                }
                if (l.artifact() != null && !l.artifact().matches("[A-Za-z0-9._-]{1,128}\\.safetensors")) {
                    out.add(new Problem(at + ".artifact", "not a LoRA artifact name (like lora.safetensors)"));
                }
                if (l.scale() != null && (!Double.isFinite(l.scale()) || Math.abs(l.scale()) > MAX_LORA_SCALE)) {
                    out.add(new Problem(at + ".scale", "must be between -" + (int) MAX_LORA_SCALE + " and "
                            + (int) MAX_LORA_SCALE + ", got " + l.scale()));
                }
            }
        }
        return out;
    }

    private static void text(List<Problem> out, String field, String value) {
        if (value.length() > MAX_PROMPT_CHARS) {
            out.add(new Problem(field, "at most " + MAX_PROMPT_CHARS + " characters, got " + value.length()));
        } else if (TrainingConfig.firstControlCharacter(value) >= 0) {
            out.add(new Problem(field, "no control characters other than tab and line breaks"));
        }
    }

    private static void side(List<Problem> out, String field, Integer value, ModelInfo model) {
        if (value == null) {
            return;
        }
        int multiple = model.vaeScaleFactor();
        int max = maxSide(model);
        if (value < multiple || value > max || value % multiple != 0) {
            out.add(new Problem(field, "must be a multiple of " + multiple + " between " + multiple + " and " + max
                    + " for this model, got " + value));
        }
    }
}
