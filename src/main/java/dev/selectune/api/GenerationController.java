package dev.selectune.api;

import dev.selectune.config.AuthFilter;
import dev.selectune.generations.GenerationService;
import dev.selectune.generations.GenerationSpec;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.JobStatus;
import org.springframework.core.io.Resource;
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
import org.springframework.web.bind.annotation.RestController;
import org.springframework.web.servlet.mvc.method.annotation.SseEmitter;

import java.net.URI;

/**
 * The generations API: create, list, get, cancel, delete, events (paged and SSE), images as artifacts. Each endpoint
 * makes one call to {@link GenerationService} and shapes the answer; refusals are exceptions {@link ProblemHandler}
 * answers.
 */
@RestController
public class GenerationController {
    private final GenerationService service;
    private final GenerationViews views;
    private final EventStreams streams;

    public GenerationController(GenerationService service, GenerationViews views, EventStreams streams) {
        this.service = service;
        this.views = views;
        this.streams = streams;
    }

    @PostMapping(path = "/v1/generations", consumes = MediaType.APPLICATION_JSON_VALUE)
    public ResponseEntity<GenerationViews.GenerationView> create(
            @RequestAttribute(AuthFilter.TENANT) String tenant,
            @RequestHeader(name = "Idempotency-Key", required = false) String key,
            @RequestBody GenerationSpec spec) {
        GenerationService.Created c = service.create(tenant, spec, JobController.idempotencyKey(key));
        GenerationViews.GenerationView view = views.view(c.generation());
        return ResponseEntity.status(c.replayed() ? HttpStatus.OK : HttpStatus.CREATED)
                .location(URI.create(view.links().self()))
                .header("Idempotent-Replayed", String.valueOf(c.replayed())).body(view);
    }

    @GetMapping("/v1/generations")
    public Views.Page<GenerationViews.GenerationView> list(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                           @RequestParam(required = false) String status,
                                                           @RequestParam(required = false) String after,
                                                           @RequestParam(defaultValue = "20") int limit) {
        var page = service.list(tenant, status == null ? null : status(status), after,
                Paging.limit(limit, Paging.MAX_LIMIT));
        return Paging.page(page, views::view, g -> g.getId());
    }

    private static JobStatus status(String wireName) {
        try {
            return JobStatus.fromWireName(wireName);
        } catch (IllegalArgumentException e) {
            throw new InvalidParameter("status", e.getMessage());
        }
    }

    @GetMapping("/v1/generations/{id}")
    public GenerationViews.GenerationView get(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                              @PathVariable String id) {
        return views.view(service.require(tenant, id));
    }

    /** Cancels a queued generation at once (200) or asks a running one to stop at its next step (202). */
    @PostMapping("/v1/generations/{id}/cancel")
    public ResponseEntity<GenerationViews.GenerationView> cancel(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                                 @PathVariable String id) {
        GenerationService.Cancellation c = service.cancel(tenant, id);
        return ResponseEntity.status(c.stopped() ? HttpStatus.OK : HttpStatus.ACCEPTED)
                .body(views.view(c.generation()));
    }

    /** Deletes a finished generation and its images (204); a queued or running one is refused (409). */
    @DeleteMapping("/v1/generations/{id}")
    public ResponseEntity<Void> delete(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id) {
        service.delete(tenant, id);
        return ResponseEntity.noContent().build();
    }

    @GetMapping(path = "/v1/generations/{id}/events", produces = MediaType.APPLICATION_JSON_VALUE)
    public Views.Page<Views.EventView> events(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                              @PathVariable String id,
                                              @RequestParam(defaultValue = "0") long after,
                                              @RequestParam(defaultValue = "100") int limit) {
        return Paging.page(service.events(tenant, id, after, Paging.limit(limit, Paging.MAX_LIMIT)),
                GenerationViews::event, e -> e.getId());
    }

    /** The same events as a server-sent event stream that follows the generation until it finishes. */
    @GetMapping(path = "/v1/generations/{id}/events", produces = MediaType.TEXT_EVENT_STREAM_VALUE)
    public SseEmitter stream(@RequestAttribute(AuthFilter.TENANT) String tenant, @PathVariable String id,
                             @RequestHeader(name = "Last-Event-ID", required = false) Long lastEventId,
                             @RequestParam(defaultValue = "0") long after) {
        service.require(tenant, id);
        return streams.follow(() -> service.finished(id), from -> service.eventsAfter(id, from, 500).stream()
                .map(GenerationViews::event).toList(), lastEventId != null ? lastEventId : after);
    }

    @GetMapping("/v1/generations/{id}/artifacts")
    public Views.Page<Views.ArtifactView> artifacts(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                                    @PathVariable String id) {
        return Views.Page.of(service.images(tenant, id).stream().map(i -> GenerationViews.artifact(id, i)).toList(),
                false, null);
    }

    /** An image's PNG, with the ETag, Range and If-None-Match support of job artifacts. */
    @GetMapping("/v1/generations/{id}/artifacts/{name}")
    public ResponseEntity<Resource> artifact(@RequestAttribute(AuthFilter.TENANT) String tenant,
                                             @PathVariable String id, @PathVariable String name) {
        GenerationService.ImageContent content = service.image(tenant, id, name);
        return JobController.artifactBody(name, content.image().getContentType(), content.image().getSha256(),
                content.bytes());
    }
}
