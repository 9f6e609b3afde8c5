package dev.selectune.api;

import com.fasterxml.jackson.annotation.JsonInclude;
import dev.selectune.generations.Generation;
import dev.selectune.generations.GenerationEvent;
import dev.selectune.generations.GenerationImage;
import dev.selectune.generations.GenerationService;
import dev.selectune.generations.ResolvedGeneration;
import dev.selectune.jobs.JobStatus;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.time.Instant;
import java.util.List;

/** Generations in their API form (snake_case on the wire, as openapi.yaml's Generation schema describes). */
@Component
public class GenerationViews {
    private final GenerationService service;

    public GenerationViews(GenerationService service) {
        this.service = service;
    }

    public record Progress(int step, int totalSteps, double fraction) {
    }

    /** Seconds spent queued and running (null until the generation started, or while it runs). */
    public record Timing(Double queuedSeconds, Double runSeconds) {
    }

    public record Memory(Long peakBytes, String device, String measuredAs) {
    }

    public record Image(int index, long seed, int width, int height, String name, String contentType,
                        long sizeBytes, String sha256, String url) {
    }

    public record Links(String self, String events, String artifacts, String cancel) {
    }

    @JsonInclude(JsonInclude.Include.ALWAYS)
    public record GenerationView(String id, String object, String status, String baseModel, Instant createdAt,
                                 Instant startedAt, Instant finishedAt, Integer queuePosition,
                                 boolean cancelRequested, int attempts, Progress progress, List<Long> seeds,
                                 Timing timing, Memory memory, Views.JobError error, ResolvedGeneration request,
                                 java.util.Map<String, String> metadata, List<Image> images, Links links) {
    }

    public GenerationView view(Generation g) {
        JobStatus status = g.getStatus();
        ResolvedGeneration r = service.request(g);
        String base = "/v1/generations/" + g.getId();
        List<Image> images = status == JobStatus.SUCCEEDED ? service.images(g).stream().map(i -> image(g, i)).toList()
                : List.of();
        Double queued = g.getStartedAt() == null ? null : seconds(g.getCreatedAt(), g.getStartedAt());
        Double ran = g.getStartedAt() == null || g.getFinishedAt() == null ? null
                : seconds(g.getStartedAt(), g.getFinishedAt());
        Views.JobError error = g.getError() == null ? null : new Views.JobError(
                g.getError().startsWith("invalid input") ? "invalid_input"
                        : g.getError().contains("lease") ? "worker_lost" : "generation_failed", g.getError());
        return new GenerationView(g.getId(), "generation", status.wireName(), g.getBaseModel(), g.getCreatedAt(),
                g.getStartedAt(), g.getFinishedAt(), status == JobStatus.QUEUED ? service.queuePosition(g) : null,
                g.isCancelRequested(), g.getAttempts(),
                new Progress(g.getStep(), g.getTotalSteps(),
                        g.getTotalSteps() == 0 ? 0 : Math.min(1.0, (double) g.getStep() / g.getTotalSteps())),
                java.util.stream.IntStream.range(0, r.n()).mapToObj(r::seed).toList(), new Timing(queued, ran),
                new Memory(g.getPeakBytes(), g.getMemoryDevice(), g.getPeakBytes() == null ? null
                        : "process resident set (peak seen at the denoising steps)"),
                error, r, r.metadata() == null ? java.util.Map.of() : r.metadata(), images,
                new Links(base, base + "/events", base + "/artifacts", base + "/cancel"));
    }

    static Image image(Generation g, GenerationImage i) {
        return new Image(i.getPosition(), i.getSeed(), i.getWidth(), i.getHeight(), i.getName(), i.getContentType(),
                i.getSizeBytes(), i.getSha256(), url(g.getId(), i));
    }

    static String url(String generationId, GenerationImage i) {
        return "/v1/generations/" + generationId + "/artifacts/" + i.getName();
    }

    static Views.ArtifactView artifact(String generationId, GenerationImage i) {
        return new Views.ArtifactView(i.getName(), "artifact", i.getContentType(), i.getSizeBytes(), i.getSha256(),
                i.getCreatedAt(), url(generationId, i));
    }

    static Views.EventView event(GenerationEvent e) {
        return new Views.EventView(e.getId(), "generation.event", e.getLevel(), e.getType(), e.getMessage(),
                e.getCreatedAt());
    }

    private static double seconds(Instant from, Instant to) {
        return Duration.between(from, to).toMillis() / 1e3;
    }
}
