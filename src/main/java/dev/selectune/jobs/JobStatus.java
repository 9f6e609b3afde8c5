package dev.selectune.jobs;

import java.util.List;
import java.util.Locale;

/** A job's lifecycle, as the API spells it. */
public enum JobStatus {
    QUEUED, RUNNING, SUCCEEDED, FAILED, CANCELLED;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    /** The final statuses, in which a job changes no more. */
    public static final List<JobStatus> FINISHED = List.of(SUCCEEDED, FAILED, CANCELLED);

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
