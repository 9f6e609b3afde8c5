package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.config.AuthFilter;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.JobReads;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobSpec;
import dev.selectune.jobs.JobStatus;
import dev.selectune.util.Hashes;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.Part;
import org.springframework.core.io.ByteArrayResource;
import org.springframework.core.io.Resource;
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
import java.util.List;

/**
 * The jobs API: create (JSON or multipart), get, list, cancel, delete, events (paged and SSE), metrics, artifacts.
 * Each endpoint reads its parameters, makes one call to {@link JobService} or {@link JobReads}, and shapes the
 * answer; refusals are exceptions that {@link ProblemHandler} answers.
 */
@RestController
public class JobController {
    private final JobService service;
    private final JobReads reads;
    private final JobViews views;
    private final ImageUploads uploads;
    private final EventStreams streams;
    private final JsonMapper json;

    public JobController(JobService service, JobReads reads, JobViews views, ImageUploads uploads,
                         EventStreams streams, JsonMapper json) {
        this.service = service;
        this.reads = reads;
        this.views = views;
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
        return created(service.createJob(tenant, spec, idempotencyKey(key), () -> digests(files),
                () -> uploads.validate(files)));
    }

    /**
     * The one {@code spec} part, a JSON field (not a file) sent as {@code application/json}, as openapi.yaml's
     * encoding says: refused when missing, repeated or of another type rather than read as whatever it happens to be.
     */
    private JobSpec specPart(HttpServletRequest request) throws IOException, ServletException {
        List<Part> parts = request.getParts().stream().filter(p -> "spec".equals(p.getName())).toList();
        if (parts.size() != 1) {
            throw malformedSpec(parts.isEmpty() ? "a JSON part named 'spec' is required"
                    : "exactly one 'spec' part, got " + parts.size());
        }
        Part part = parts.get(0);
        if (part.getSubmittedFileName() != null) {
            throw malformedSpec("must be a JSON field, not a file ('" + part.getSubmittedFileName() + "')");
        }
        MediaType type;
        try {
            type = part.getContentType() == null ? MediaType.TEXT_PLAIN : MediaType.parseMediaType(part.getContentType());
        } catch (org.springframework.http.InvalidMediaTypeException e) {
            type = null;
        }
        if (type == null || !MediaType.APPLICATION_JSON.isCompatibleWith(type) || type.isWildcardSubtype()) {
            throw new UnsupportedPart("spec", "must be sent with Content-Type: application/json, got "
                    + (part.getContentType() == null ? "none (text/plain)" : part.getContentType()));
        }
        try (InputStream in = part.getInputStream()) {
            return json.readValue(in, JobSpec.class);
        }
    }

    private static MalformedRequest malformedSpec(String message) {
        return new MalformedRequest("spec: " + message, new Problem("spec", message));
    }

    private static List<String> digests(List<MultipartFile> files) {
        return (files == null ? List.<MultipartFile>of() : files).stream().map(f -> {
            try {
                return Hashes.sha256Hex(f.getBytes());
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }).toList();
    }

    private ResponseEntity<Views.JobView> created(JobService.Created c) {
        Views.JobView view = views.view(c.job());
        return ResponseEntity.status(c.replayed() ? HttpStatus.OK : HttpStatus.CREATED)
                .location(URI.create(view.links().self()))
                .header("Idempotent-Replayed", String.valueOf(c.replayed())).body(view);
    }

    static String idempotencyKey(String key) {
        if (key == null) {
            return null;
        }
        if (key.isBlank() || key.length() > 255 || !key.chars().allMatch(c -> c >= 0x20 && c < 0x7f)) {
            throw new MalformedRequest("bad Idempotency-Key header",
                    new Problem("Idempotency-Key", "1 to 255 printable ASCII characters"));
        }
        return key;
    }

    @GetMapping("/v1/jobs")
    public Views.Page<Views.JobView> list(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                          @RequestParam(required = false) String status,
                                          @RequestParam(required = false) String after,
                                          @RequestParam(defaultValue = "20") int limit) {
        int n = Paging.limit(limit, Paging.MAX_LIMIT);
        var page = reads.list(tenant, status == null ? null : status(status), after, n);
        // One view call for the whole page: the queued jobs' positions come from one query.
        List<Views.JobView> shown = views.views(page.items());
        return Views.Page.of(shown, page.hasMore(), page.last() == null ? null : page.last().getId());
    }

    private static JobStatus status(String wireName) {
        try {
            return JobStatus.fromWireName(wireName);
        } catch (IllegalArgumentException e) {
            throw new InvalidParameter("status", e.getMessage());
        }
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
        JobService.Cancellation c = service.cancel(tenant, id);
        return ResponseEntity.status(c.stopped() ? HttpStatus.OK : HttpStatus.ACCEPTED).body(views.view(c.job()));
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
        return Paging.page(reads.events(tenant, id, after, Paging.limit(limit, Paging.MAX_LIMIT)),
                EventStreams::view, e -> e.getId());
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
        return Paging.page(reads.metrics(tenant, id, after, Paging.limit(limit, Paging.MAX_METRICS_LIMIT)),
                m -> new Views.StepView(m.getStep(), m.getStrategy(), m.getTimestep(), m.getPZo(), m.getLoss(),
                        m.getSeconds(), m.getPeakBytes()), m -> m.getStep());
    }

    @GetMapping("/v1/jobs/{id}/artifacts")
    public Views.Page<Views.ArtifactView> artifacts(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                    @PathVariable String id) {
        return Views.Page.of(reads.artifacts(tenant, id).stream().map(a -> new Views.ArtifactView(
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
        JobReads.ArtifactContent content = reads.artifact(tenant, id, name);
        return artifactBody(name, content.artifact().getContentType(), content.artifact().getSha256(),
                content.bytes());
    }

    /** A stored file as a download: what job artifacts and generation images are both answered with. */
    static ResponseEntity<Resource> artifactBody(String name, String contentType, String sha256, byte[] bytes) {
        return ResponseEntity.ok()
                .eTag("\"" + sha256 + "\"")
                .contentType(MediaType.parseMediaType(contentType))
                .contentLength(bytes.length)
                .header("Accept-Ranges", "bytes")
                .header("Content-Disposition", ContentDisposition.attachment().filename(name).build().toString())
                .body(new ByteArrayResource(bytes));
    }
}
