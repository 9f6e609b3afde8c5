package dev.selectune.webhooks;

/**
 * Renders a subject as the API returns it, for the body of its deliveries. The API layer provides the one bean (it
 * owns the views); {@link Webhooks#enqueue} calls it inside the transaction of the state change, so the body shows
 * the subject exactly as that change left it.
 */
public interface WebhookBodies {
    /** The subject's JSON, as {@code GET} on it would answer now (in the caller's transaction). */
    String body(Subject subject, String subjectId);
}
