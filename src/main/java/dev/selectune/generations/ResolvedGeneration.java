package dev.selectune.generations;

import dev.selectune.webhooks.WebhookRequest;

import java.util.List;
import java.util.Map;

/**
 * A generation request with every default filled in and each LoRA resolved to one artifact of one of the tenant's
 * jobs: what the generation stores, shows and runs (a default that changes later does not change it).
 *
 * @param scheduler one of {@code Schedulers.NAMES}, or null for the base model's own scheduler
 * @param seed      image i is drawn from seed + i
 * @param webhook             the URL called back, or null
 * @param webhookEventsFilter its events, written out (all when the request named none); null without a webhook
 */
public record ResolvedGeneration(String baseModel, List<ResolvedLora> loras, String prompt, String negativePrompt,
                                 int n, int width, int height, int steps, double guidanceScale, String scheduler,
                                 long seed, Map<String, String> metadata, String webhook,
                                 List<String> webhookEventsFilter) {

    /**
     * A LoRA as the worker loads it: the artifact {@code artifact} of job {@code jobId} (whose tenant is the
     * generation's), its download {@code url}, its content digest and the scale it is applied at.
     */
    public record ResolvedLora(String jobId, String artifact, String url, double scale, String sha256) {
    }

    /** The webhook to register, or null. */
    public WebhookRequest webhookRequest() {
        return webhook == null ? null : new WebhookRequest(webhook, webhookEventsFilter);
    }

    /** The seed of image {@code index}. */
    public long seed(int index) {
        return seed + index;
    }
}
