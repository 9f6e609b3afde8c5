package dev.selectune.webhooks;

import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** The events of a {@code webhook_events_filter}, as Replicate names them. */
public enum WebhookEvent {
    /** The subject started running (sent once, at its first claim). */
    START,
    /** It made progress (at most every {@code selectune.webhooks.progress-interval}). */
    PROGRESS,
    /** It ended: succeeded, failed or cancelled. */
    COMPLETED;

    public static final List<WebhookEvent> ALL = List.of(values());

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Optional<WebhookEvent> fromWireName(String name) {
        return Arrays.stream(values()).filter(e -> e.wireName().equals(name)).findFirst();
    }
}
