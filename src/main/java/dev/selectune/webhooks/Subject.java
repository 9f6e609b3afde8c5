package dev.selectune.webhooks;

import java.util.Locale;

/** What a webhook reports on ({@code kind} in the webhook tables): a training job or a generation. */
public enum Subject {
    JOB, GENERATION;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }
}
