package dev.selectune.jobs;

import java.time.Duration;
import java.util.List;

/**
 * A client error found while handling a request, turned into an RFC 9457 problem detail by the API layer.
 *
 * @param type   the last path segment of the problem type URI, e.g. {@code invalid-image}
 * @param errors every offending field with what is wrong with it
 */
public class RequestRejected extends RuntimeException {
    public record FieldError(String field, String message) {
    }

    private final int status;
    private final String type;
    private final String title;
    private final List<FieldError> errors;
    private final Duration retryAfter;

    public RequestRejected(int status, String type, String title, String detail, List<FieldError> errors) {
        this(status, type, title, detail, errors, null);
    }

    private RequestRejected(int status, String type, String title, String detail, List<FieldError> errors,
                            Duration retryAfter) {
        super(detail);
        this.status = status;
        this.type = type;
        this.title = title;
        this.errors = List.copyOf(errors);
        this.retryAfter = retryAfter;
    }

    /** 503: the request was fine but the service has no room for it now; answered with Retry-After. */
    public static RequestRejected busy(String type, String title, String detail, Duration retryAfter) {
        return new RequestRejected(503, type, title, detail, List.of(), retryAfter);
    }

    public static RequestRejected notFound(String what) {
        return new RequestRejected(404, "not-found", "Not Found", what + " does not exist", List.of());
    }

    /** From trainer-style problems ("field: message", as {@code TrainingConfig.problems()} gives them). */
    public static RequestRejected invalid(String detail, List<String> problems) {
        List<FieldError> errors = problems.stream().map(p -> {
            int colon = p.indexOf(": ");
            return colon > 0 ? new FieldError(p.substring(0, colon), p.substring(colon + 2)) : new FieldError(null, p);
        }).toList();
        return new RequestRejected(422, "invalid-request", "Invalid request", detail, errors);
    }

    public int status() { return status; }
    public String type() { return type; }
    public String title() { return title; }
    public List<FieldError> errors() { return errors; }
    /** When to try again (a Retry-After header), or null. */
    public Duration retryAfter() { return retryAfter; }
}
