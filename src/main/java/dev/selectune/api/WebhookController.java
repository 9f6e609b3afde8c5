package dev.selectune.api;

import dev.selectune.config.AuthFilter;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.generations.GenerationService;
import dev.selectune.jobs.JobService;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookSecrets;
import dev.selectune.webhooks.Webhooks;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RestController;

import java.time.Instant;
import java.util.List;

/**
 * The tenant's webhook signing secret (read and rotate) and the delivery log of a job or a generation. Only the {@code default} secret
 * exists: the path leaves room for more endpoints per tenant later, as Replicate's does.
 */
@RestController
public class WebhookController {
    private final WebhookSecrets secrets;
    private final Webhooks webhooks;
    private final JobService jobs;
    private final GenerationService generations;

    public WebhookController(WebhookSecrets secrets, Webhooks webhooks, JobService jobs,
                             GenerationService generations) {
        this.secrets = secrets;
        this.webhooks = webhooks;
        this.jobs = jobs;
        this.generations = generations;
    }

    public record SecretView(String key) {
    }

    public record AttemptView(int attempt, Instant startedAt, Instant finishedAt, Integer statusCode, String error) {
    }

    public record DeliveryView(String id, String object, String event, String url, String status, int attempts,
                               Instant nextAttemptAt, Integer lastStatusCode, String lastError, Instant createdAt,
                               Instant finishedAt, List<AttemptView> attemptLog) {
    }

    @GetMapping("/v1/webhooks/default/secret")
    public SecretView secret(@RequestAttribute(AuthFilter.TENANT) String tenant) {
        return new SecretView(secrets.current(tenant));
    }

    /**
     * A new secret, in force at once: every attempt from now on (retries of older deliveries too, as each attempt is
     * signed when sent) is signed with it, and also with the previous one for {@code selectune.webhooks.secret-grace}.
     */
    @PostMapping("/v1/webhooks/default/secret/rotate")
    public SecretView rotate(@RequestAttribute(AuthFilter.TENANT) String tenant) {
        return new SecretView(secrets.rotate(tenant));
    }

    @GetMapping("/v1/jobs/{id}/webhook-deliveries")
    public Views.Page<DeliveryView> jobDeliveries(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                  @PathVariable String id,
                                                  @RequestParam(required = false) String after,
                                                  @RequestParam(defaultValue = "20") int limit) {
        jobs.require(tenant, id);
        return deliveries(Subject.JOB, id, tenant, after, limit);
    }

    @GetMapping("/v1/generations/{id}/webhook-deliveries")
    public Views.Page<DeliveryView> generationDeliveries(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                         @PathVariable String id,
                                                         @RequestParam(required = false) String after,
                                                         @RequestParam(defaultValue = "20") int limit) {
        generations.require(tenant, id);
        return deliveries(Subject.GENERATION, id, tenant, after, limit);
    }

    /** The subject's deliveries after {@code after}; the caller has checked that the subject is the tenant's. */
    private Views.Page<DeliveryView> deliveries(Subject subject, String id, String tenant, String after, int limit) {
        return page(webhooks.deliveries(subject, id, tenant, after, Paging.limit(limit, Paging.MAX_LIMIT))
                .orElseThrow(() -> new InvalidParameter("after", "no delivery " + after + " to continue after")));
    }

    /** A page of deliveries as the API shows them. */
    static Views.Page<DeliveryView> page(Webhooks.Page page) {
        List<DeliveryView> views = page.items().stream().map(d -> new DeliveryView(d.id(), "webhook.delivery",
                d.event(), d.url(), d.status(), d.attempts(), d.nextAttemptAt(), d.lastStatusCode(), d.lastError(),
                d.createdAt(), d.finishedAt(), d.log().stream().map(a -> new AttemptView(a.attempt(), a.startedAt(),
                        a.finishedAt(), a.statusCode(), a.error())).toList())).toList();
        return Views.Page.of(views, page.hasMore(), views.isEmpty() ? null : views.get(views.size() - 1).id());
    }
}
