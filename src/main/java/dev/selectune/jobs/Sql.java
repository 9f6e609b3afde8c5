package dev.selectune.jobs;

import dev.selectune.training.schedule.Strategy;

import java.util.Collection;
import java.util.stream.Collectors;

/**
 * Enum values as the queue's SQL spells them: their wire names as quoted literals, so a status or strategy is named
 * by its enum in every statement rather than retyped as a string.
 */
final class Sql {
    private Sql() {
    }

    static String of(JobStatus status) {
        return quote(status.wireName());
    }

    static String of(Strategy strategy) {
        return quote(strategy.wireName());
    }

    /** {@code ('succeeded', 'failed', 'cancelled')} for an {@code in} clause. */
    static String in(Collection<JobStatus> statuses) {
        return statuses.stream().map(Sql::of).collect(Collectors.joining(", ", "(", ")"));
    }

    private static String quote(String wireName) {
        if (!wireName.matches("[a-z_-]+")) {
            throw new IllegalArgumentException("not a wire name: " + wireName);
        }
        return "'" + wireName + "'";
    }
}
