package dev.selectune.console;

import java.util.List;
import java.util.Map;

/**
 * A job's evaluation scores as the page shows them: each metric for the LoRA and for the base model with the same
 * prompts and seeds (the {@code evaluation} object of the job, as {@code JobEvaluation} stores it).
 */
public record Scores(List<Row> rows) {
    public record Row(String metric, Double lora, Double base) {
    }

    private static final List<String> METRICS = List.of("dino", "clip_i", "clip_t");

    /** Null when the job has no evaluation. */
    public static Scores of(Map<String, Object> evaluation) {
        if (evaluation == null) {
            return null;
        }
        Object baseline = evaluation.get("baseline");
        Map<?, ?> base = baseline instanceof Map<?, ?> m ? m : Map.of();
        return new Scores(METRICS.stream().map(k -> new Row(k, number(evaluation.get(k)), number(base.get(k))))
                .toList());
    }

    private static Double number(Object o) {
        return o instanceof Number n ? n.doubleValue() : null;
    }
}
