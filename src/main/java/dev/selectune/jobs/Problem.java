package dev.selectune.jobs;

/**
 * One thing wrong with a request: the field (a JSON path such as {@code validation_prompts[1]}, a parameter or a
 * header name; null when no single field is at fault) and what is wrong with it.
 */
public record Problem(String field, String message) {
    /**
     * From the trainer's and the spec's checks, which still say {@code "field: message"} ({@code
     * TrainingConfig.problems()}, {@code JobSpec.check()}); this is the one place such a string is split.
     */
    public static Problem parse(String fieldColonMessage) {
        int colon = fieldColonMessage.indexOf(": ");
        return colon > 0 ? new Problem(fieldColonMessage.substring(0, colon), fieldColonMessage.substring(colon + 2))
                : new Problem(null, fieldColonMessage);
    }

    @Override
    public String toString() {
        return field == null ? message : field + ": " + message;
    }
}
