package dev.selectune.jobs;

import java.util.Locale;

/** A job's lifecycle, as the API spells it. */
public enum JobStatus {
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean isTerminal() {
        return this == SUCCEEDED || this == FAILED || this == CANCELLED;
    }

    public static JobStatus fromWireName(String s) {
        for (JobStatus v : values()) {
            if (v.wireName().equals(s)) {
                return v;
            }
        }
        throw new IllegalArgumentException("unknown status '" + s
                + "' (expected queued, running, succeeded, failed or cancelled)");
    }
}
