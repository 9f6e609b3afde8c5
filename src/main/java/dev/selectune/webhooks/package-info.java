/**
 * Signed webhooks (Standard Webhooks) for jobs and generations, with a transactional outbox in PostgreSQL.
 *
 * <p>Hooking a subject in takes three calls, each inside the transaction that already changes the subject:
 * <ol>
 *   <li>at creation, after validation: {@code problems.addAll(webhooks.problems(request))} ({@code Problem}s
 *       naming {@code webhook} or {@code webhook_events_filter[i]}), then
 *       {@link dev.selectune.webhooks.Webhooks#register Webhooks.register(Subject.GENERATION, id, tenant,
 *       request.resolved())} in the creating transaction ({@code null} request: no webhook);</li>
 *   <li>at each state change, in its transaction: {@link dev.selectune.webhooks.Webhooks#enqueue
 *       Webhooks.enqueue(Subject.GENERATION, id, WebhookEvent.START | PROGRESS | COMPLETED)}. It writes nothing when
 *       the subject has no webhook or its filter leaves the event out, sends {@code start} once and {@code progress}
 *       at most every {@code selectune.webhooks.progress-interval}, and refuses to run outside a transaction
 *       ({@code Propagation.MANDATORY});</li>
 *   <li>its case in the one {@link dev.selectune.webhooks.WebhookBodies} bean (in the API layer, which owns the
 *       views) that renders the subject as {@code GET} returns it: that JSON is the delivery's body.</li>
 * </ol>
 * The delivery log of a subject is {@link dev.selectune.webhooks.Webhooks#deliveries} (the caller checks the
 * subject belongs to the tenant first; the query is tenant-scoped too).
 *
 * <p>{@link dev.selectune.webhooks.WebhookDispatcher} sends due deliveries from every replica (claims use
 * {@code FOR UPDATE SKIP LOCKED} and a lease), signs each attempt with the tenant's secret
 * ({@link dev.selectune.webhooks.WebhookSecrets}), and retries with exponential backoff and jitter until
 * {@code selectune.webhooks.retry-for} (26 h) has passed. {@link dev.selectune.webhooks.TargetPolicy} keeps
 * deliveries off loopback, private and link-local addresses (checked after DNS resolution, address pinned);
 * {@link dev.selectune.webhooks.WebhookSender} makes the one POST. The package depends on no other service package
 * but {@code config} and {@code metrics}, so {@code jobs} (and {@code generations}) may call it.
 */
package dev.selectune.webhooks;
