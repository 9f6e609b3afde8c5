package dev.selectune.api;

import dev.selectune.config.AuthFilter;
import dev.selectune.jobs.Artifact;
import dev.selectune.jobs.ArtifactRepository;
import dev.selectune.jobs.Job;
import dev.selectune.jobs.JobEventRepository;
import dev.selectune.jobs.JobQueue;
import dev.selectune.jobs.JobRepository;
import dev.selectune.jobs.JobRunner;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobSpec;
import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.RequestRejected;
import dev.selectune.jobs.StepMetricRepository;
import dev.selectune.jobs.WorkerPool;
import dev.selectune.storage.BlobStore;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.Part;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.io.Resource;
import org.springframework.data.domain.Limit;
import org.springframework.http.ContentDisposition;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.DeleteMapping;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.PathVariable;
import org.springframework.web.bind.annotation.PostMapping;
import org.springframework.web.bind.annotation.RequestAttribute;
import org.springframework.web.bind.annotation.RequestBody;
import org.springframework.web.bind.annotation.RequestHeader;
import org.springframework.web.bind.annotation.RequestParam;
import org.springframework.web.bind.annotation.RequestPart;
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.multipart.MultipartFile;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/** The jobs API: create (JSON or multipart), get, list, cancel, events (paged and SSE), metrics, artifacts. */
@RestController
public class JobController {
    private static final int MAX_LIMIT = 100;

    private final JobService service;
    private final JobRepository jobs;
    private final JobViews views;
    private final JobQueue queue;
    private final WorkerPool workers;
    private final JobEventRepository events;
    private final StepMetricRepository stepMetrics;
    private final ArtifactRepository artifacts;
    private final BlobStore blobs;
    private final ImageUploads uploads;
    private final EventStreams streams;
    private final JsonMapper json;

    public JobController(JobService service, JobRepository jobs, JobViews views, JobQueue queue, WorkerPool workers,
                         JobEventRepository events, StepMetricRepository stepMetrics, ArtifactRepository artifacts,
                         BlobStore blobs, ImageUploads uploads, EventStreams streams, JsonMapper json) {
        this.service = service;
        this.jobs = jobs;
        this.views = views;
        this.queue = queue;
        this.workers = workers;
        this.events = events;
        this.stepMetrics = stepMetrics;
        this.artifacts = artifacts;
        this.blobs = blobs;
        this.uploads = uploads;
        this.streams = streams;
        this.json = json;
    }

    @PostMapping(path = "/v1/jobs", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<Views.JobView> create(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                @RequestHeader(name = "Idempotency-Key", required = false) String key,
                                                @RequestBody JobSpec spec) {
        return created(service.createJob(tenant, spec, idempotencyKey(key), List.of()));
    }

    /** One request with a {@code spec} JSON part and the {@code images} parts: the image set is made with the job. */
    @PostMapping(path = "/v1/jobs", consumes = MediaType.MULTIPART_FORM_DATA_VALUE)
    public ResponseEntity<Views.JobView> createMultipart(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                         @RequestHeader(name = "Idempotency-Key", required = false)
                                                         String key,
                                                         @RequestPart(name = "images", required = false)
                                                         List<MultipartFile> files,
                                                         HttpServletRequest request)
            throws IOException, ServletException {
        JobSpec spec = specPart(request);
        String k = idempotencyKey(key);
        if (k != null) {
            // A retry is answered (or a reused key refused) before the images are decoded and checked again.
            Optional<JobService.Created> replay = service.replay(tenant, k,
                    () -> service.fingerprint(spec, digests(files)));
            if (replay.isPresent()) {
                return created(replay.get());
            }
        }
        return created(service.createJob(tenant, spec, k, uploads.validate(files)));
    }

    /**
     * The one {@code spec} part, a JSON field (not a file) sent as {@code application/json}, as openapi.yaml's
     * encoding says: refused when missing, repeated or of another type rather than read as whatever it happens to be.
     */
    private JobSpec specPart(HttpServletRequest request) throws IOException, ServletException {
        List<Part> parts = request.getParts().stream().filter(p -> "spec".equals(p.getName())).toList();
        if (parts.size() != 1) {
            throw specRejected(400, parts.isEmpty() ? "a JSON part named 'spec' is required"
                    : "exactly one 'spec' part, got " + parts.size());
        }
        Part part = parts.get(0);
        if (part.getSubmittedFileName() != null) {
            throw specRejected(400, "must be a JSON field, not a file ('" + part.getSubmittedFileName() + "')");
        }
        MediaType type;
        try {
            type = part.getContentType() == null ? MediaType.TEXT_PLAIN : MediaType.parseMediaType(part.getContentType());
        } catch (org.springframework.http.InvalidMediaTypeException e) {
            type = null;
        }
        if (type == null || !MediaType.APPLICATION_JSON.isCompatibleWith(type) || type.isWildcardSubtype()) {
            throw specRejected(415, "must be sent with Content-Type: application/json, got "
                    + (part.getContentType() == null ? "none (text/plain)" : part.getContentType()));
        }
        try (InputStream in = part.getInputStream()) {
            return json.readValue(in, JobSpec.class);
        }
    }

    private static RequestRejected specRejected(int status, String message) {
        return new RequestRejected(status, status == 415 ? "unsupported-media-type" : "invalid-request",
                status == 415 ? "Unsupported media type" : "Invalid request", "spec: " + message,
                List.of(new RequestRejected.FieldError("spec", message)));
    }

    private static List<String> digests(List<MultipartFile> files) {
        List<String> out = new ArrayList<>();
        for (MultipartFile f : files == null ? List.<MultipartFile>of() : files) {
            try {
                out.add(JobRunner.sha256(f.getBytes()));
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return out;
    }

    private ResponseEntity<Views.JobView> created(JobService.Created c) {
        Views.JobView view = views.view(c.job());
        if (!c.replayed()) {
            workers.nudge();
        }
        return ResponseEntity.status(c.replayed() ? HttpStatus.OK : HttpStatus.CREATED)
                .location(URI.create(view.links().self()))
                .header("Idempotent-Replayed", String.valueOf(c.replayed())).body(view);
    }

    private static String idempotencyKey(String key) {
        if (key == null) {
            return null;
        }
        if (key.isBlank() || key.length() > 255 || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new RequestRejected(400, "invalid-request", "Invalid request", "bad Idempotency-Key header",
                    List.of(new RequestRejected.FieldError("Idempotency-Key", "1 to 255 printable ASCII characters")));
        }
        return key;
    }

    @GetMapping("/v1/jobs")
    public Views.Page<Views.JobView> list(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                          @RequestParam(required = false) String status,
                                          @RequestParam(required = false) String after,
                                          @RequestParam(defaultValue = "20") int limit) {
        checkLimit(limit);
        String statusFilter = null;
        if (status != null) {
            try {
                statusFilter = JobStatus.fromWireName(status).wireName();
            } catch (IllegalArgumentException e) {
                throw badParam("status", e.getMessage());
            }
        }
        long before = Long.MAX_VALUE;
        if (after != null) {
            before = service.find(tenant, after).map(Job::getSeq)
                    .orElseThrow(() -> badParam("after", "no job " + after + " to continue after"));
        }
        List<Job> page = jobs.page(tenant, statusFilter, before, Limit.of(limit + 1));
        boolean more = page.size() > limit;
        List<Job> shown = more ? page.subList(0, limit) : page;
        return Views.Page.of(views.views(shown), more,
                shown.isEmpty() ? null : shown.get(shown.size() - 1).getId());
    }

    @GetMapping("/v1/jobs/{id}")
    public Views.JobView get(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id) {
        return views.view(service.require(tenant, id));
    }

    /**
     * Cancels a queued job at once (200) or asks a running one to stop at its next step (202; the job turns
     * {@code cancelled} once its worker has stored the LoRA so far). A finished job cannot be cancelled (409).
     */
    @PostMapping("/v1/jobs/{id}/cancel")
    public ResponseEntity<Views.JobView> cancel(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                @PathVariable String id) {
        Job job = service.require(tenant, id);
        if (queue.cancelQueued(id)) {
            queue.event(id, "info", "cancelled", "cancelled while queued");
            return ResponseEntity.ok(views.view(service.require(tenant, id)));
        }
        if (queue.requestCancel(id)) {
            workers.cancelLocal(id);
            queue.event(id, "info", "cancel_requested", "cancellation requested; the worker stops at its next step");
            return ResponseEntity.accepted().body(views.view(service.require(tenant, id)));
        }
        Job now = service.require(tenant, id);
        throw new RequestRejected(409, "job-finished", "Job already finished", "job " + id + " is "
                + now.getStatus().wireName() + " (was " + job.getStatus().wireName() + ") and cannot be cancelled",
                List.of());
    }

    /** Deletes a finished job and everything it produced (204); a queued or running one is refused (409). */
    @DeleteMapping("/v1/jobs/{id}")
    public ResponseEntity<Void> delete(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id) {
        service.deleteJob(tenant, id);
        return ResponseEntity.noContent().build();
    }

    @GetMapping(path = "/v1/jobs/{id}/events", produces = MediaType.APPLICATION_JSON_VALUE)
    public Views.Page<Views.EventView> events(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                              @PathVariable String id,
                                              @RequestParam(defaultValue = "0") long after,
                                              @RequestParam(defaultValue = "100") int limit) {
        checkLimit(limit);
        service.require(tenant, id);
        var page = events.findByJobIdAndIdGreaterThanOrderById(id, after, Limit.of(limit + 1));
        boolean more = page.size() > limit;
        var shown = more ? page.subList(0, limit) : page;
        return Views.Page.of(shown.stream().map(EventStreams::view).toList(), more,
                shown.isEmpty() ? null : String.valueOf(shown.get(shown.size() - 1).getId()));
    }

    /** The same events as a server-sent event stream that follows the job until it finishes. */
    @GetMapping(path = "/v1/jobs/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    public SseEmitter stream(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id,
                             @RequestHeader(name = "Last-Event-ID", required = false) Long lastEventId,
                             @RequestParam(defaultValue = "0") long after) {
        service.require(tenant, id);
        return streams.follow(id, lastEventId != null ? lastEventId : after);
    }

    @GetMapping("/v1/jobs/{id}/metrics")
    public Views.Page<Views.StepView> metrics(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                              @PathVariable String id,
                                              @RequestParam(defaultValue = "0") int after,
                                              @RequestParam(defaultValue = "1000") int limit) {
        if (limit < 1 || limit > 10_000) {
            throw badParam("limit", "must be between 1 and 10000, got " + limit);
        }
        service.require(tenant, id);
        var rows = stepMetrics.findByJobIdAndStepGreaterThanOrderByStep(id, after, Limit.of(limit + 1));
        boolean more = rows.size() > limit;
        var shown = more ? rows.subList(0, limit) : rows;
        return Views.Page.of(shown.stream().map(m -> new Views.StepView(m.getStep(), m.getStrategy(),
                        m.getTimestep(), m.getPZo(), m.getLoss(), m.getSeconds(), m.getPeakBytes())).toList(), more,
                shown.isEmpty() ? null : String.valueOf(shown.get(shown.size() - 1).getStep()));
    }

    @GetMapping("/v1/jobs/{id}/artifacts")
    public Views.Page<Views.ArtifactView> artifacts(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                    @PathVariable String id) {
        service.require(tenant, id);
        return Views.Page.of(artifacts.findByJobIdOrderByName(id).stream().map(a -> new Views.ArtifactView(
                a.getName(), "artifact", a.getContentType(), a.getSizeBytes(), a.getSha256(), a.getCreatedAt(),
                "/v1/jobs/" + id + "/artifacts/" + a.getName())).toList(), false, null);
    }

    /**
     * The artifact's bytes with {@code Content-Length} and a sha256 {@code ETag}; Spring MVC answers
     * {@code If-None-Match} with 304 and {@code Range} with 206 for a Resource body.
     */
    @GetMapping("/v1/jobs/{id}/artifacts/{name}")
    public ResponseEntity<Resource> artifact(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                             @PathVariable String id, @PathVariable String name) {
        service.require(tenant, id);
        Artifact a = artifacts.findByJobIdAndName(id, name)
                .orElseThrow(() -> RequestRejected.notFound("artifact " + name + " of job " + id));
        byte[] bytes = blobs.get(a.getBlobKey())
                .orElseThrow(() -> new IllegalStateException("blob " + a.getBlobKey() + " is missing"));
        return ResponseEntity.ok()
                .eTag("\"" + a.getSha256() + "\"")
                .contentType(MediaType.parseMediaType(a.getContentType()))
                .contentLength(bytes.length)
                .header("Accept-Ranges", "bytes")
                .header("Content-Disposition", ContentDisposition.attachment().filename(name).build().toString())
                .body(new ByteArrayResource(bytes));
    }

    private static void checkLimit(int limit) {
        if (limit < 1 || limit > MAX_LIMIT) {
            throw badParam("limit", "must be between 1 and " + MAX_LIMIT + ", got " + limit);
        }
    }

    static RequestRejected badParam(String name, String message) {
        return new RequestRejected(400, "invalid-parameter", "Invalid parameter", name + ": " + message,
                List.of(new RequestRejected.FieldError(name, message)));
    }
}
