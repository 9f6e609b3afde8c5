package dev.selectune.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.jobs.JobSpec;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/** The response bodies of the /v1 API (snake_case on the wire, as openapi.yaml describes them). */
public final class Views {
    private Views() {
    }

    /** A page of {@code data}; {@code next_after} is the {@code after} parameter of the next page when there is one. */
    public record Page<T>(String object, List<T> data, boolean hasMore, String nextAfter) {
        public static <T> Page<T> of(List<T> data, boolean hasMore, String nextAfter) {
            return new Page<>("list", data, hasMore, hasMore ? nextAfter : null);
        }
    }

    public record ImageView(int index, String filename, String format, int width, int height, long sizeBytes,
                            String sha256) {
    }

    public record ImageSetView(String id, String object, Instant createdAt, int imageCount, long totalBytes,
                               List<ImageView> images) {
    }

    public record Progress(int step, int totalSteps, double fraction, Instant estimatedFinishAt,
                           Integer resumedFromStep) {
    }

    public record Memory(Long bpPeakBytes, Long zoPeakBytes, Long peakBytes, String device, String measuredAs) {
    }

    public record Steps(int bp, int zo) {
    }

    public record JobError(String code, String message) {
    }

    public record Links(String self, String events, String metrics, String artifacts, String cancel) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record JobView(String id, String object, String status, String baseModel, String imageSetId,
                          Instant createdAt, Instant startedAt, Instant finishedAt, Integer queuePosition,
                          boolean cancelRequested, int attempts, Progress progress, Memory memory, Steps steps,
                          Double finalLoss, Long seed, JobError error, JobSpec spec, Map<String, String> metadata,
                          Links links, Map<String, Object> evaluation) {
    }

    public record EventView(long id, String object, String level, String type, String message, Instant createdAt) {
    }

    public record StepView(int step, String strategy, int timestep, double pZo, double loss, double seconds,
                           long peakBytes) {
    }

    public record ArtifactView(String name, String object, String contentType, long sizeBytes, String sha256,
                               Instant createdAt, String url) {
    }

    /** {@code GET /v1/models}: the base models, and the evaluator models that score jobs asking for evaluation. */
    public record ModelList(String object, List<ModelView> data, boolean hasMore, String nextAfter,
                            List<EvaluatorView> evaluators) {
    }

    public record EvaluatorView(String id, String object, String modelType, int imageSize) {
    }

    public record ModelView(String id, String object, String family, String pipelineClass, int nativeResolution,
                            int lowResolution, String predictionType, int crossAttentionDim) {
    }
}
