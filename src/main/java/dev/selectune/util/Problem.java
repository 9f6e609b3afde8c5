package dev.selectune.util;

/**
 * One thing wrong with an input: the field (a JSON path such as {@code validation_prompts[1]}, a parameter or a
 * header name; null when no single field is at fault) and what is wrong with it. The library's checks
 * ({@code TrainingConfig.problems()}, {@code GenerationRequest.problems(..)}) return these, the service maps them
 * to RFC 9457 problem details and the CLI prints them, so no layer parses another's message text.
 */
public record Problem(String field, String message) {
    public Problem {
        if (message == null || message.isBlank()) {
            throw new IllegalArgumentException("a problem needs a message");
        }
    }

    /** Every problem as "field: message", separated by "; " (one line for an exception's message). */
    public static String join(java.util.List<Problem> problems) {
        return String.join("; ", problems.stream().map(Problem::toString).toList());
    }

    /** "field: message", as the CLI prints it and exceptions carry it. */
    @Override
    public String toString() {
        return field == null ? message : field + ": " + message;
    }
}
