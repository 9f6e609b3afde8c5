package dev.selectune.api;

import dev.selectune.jobs.RequestRejected;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.core.JacksonException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DatabindException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.UnrecognizedPropertyException;

import java.net.URI;
import java.util.List;
import java.util.Map;
import java.util.stream.Collectors;

/**
 * Every error as an RFC 9457 problem detail ({@code application/problem+json}): a type URI per kind of problem, the
 * request path as {@code instance}, and for client errors an {@code errors} array naming each offending field.
 */
@RestControllerAdvice
public class ProblemHandler extends ResponseEntityExceptionHandler {
    private static final Logger log = LoggerFactory.getLogger(ProblemHandler.class);
    static final String TYPE_BASE = "https://selectune.dev/problems/";

    @ExceptionHandler(RequestRejected.class)
    ResponseEntity<Object> rejected(RequestRejected e, WebRequest request) {
        ResponseEntity<Object> response = problem(HttpStatus.valueOf(e.status()), e.type(), e.title(), e.getMessage(),
                e.errors(), request);
        if (e.retryAfter() == null) {
            return response;
        }
        return ResponseEntity.status(response.getStatusCode()).headers(response.getHeaders())
                .header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, e.retryAfter().toSeconds())))
                .body(response.getBody());
    }

    /** The spec part of a multipart job, parsed by hand, fails the same way as a JSON body. */
    @ExceptionHandler(JacksonException.class)
    ResponseEntity<Object> json(JacksonException e, WebRequest request) {
        return jsonProblem(e, request);
    }

    @ExceptionHandler(MethodArgumentTypeMismatchException.class)
    ResponseEntity<Object> typeMismatch(MethodArgumentTypeMismatchException e, WebRequest request) {
        String type = e.getRequiredType() == null ? "value" : e.getRequiredType().getSimpleName().toLowerCase();
        return problem(HttpStatus.BAD_REQUEST, "invalid-parameter", "Invalid parameter", e.getName()
                + ": expected " + type + ", got '" + e.getValue() + "'",
                List.of(new RequestRejected.FieldError(e.getName(), "expected " + type)), request);
    }

    @ExceptionHandler(Exception.class)
    ResponseEntity<Object> unexpected(Exception e, WebRequest request) {
        log.error("unexpected error on {}", path(request), e);
        return problem(HttpStatus.INTERNAL_SERVER_ERROR, "internal", "Internal error",
                "an unexpected error occurred; it has been logged", List.of(), request);
    }

    @Override
    protected ResponseEntity<Object> handleHttpMessageNotReadable(HttpMessageNotReadableException e,
                                                                  HttpHeaders headers, HttpStatusCode status,
                                                                  WebRequest request) {
        if (e.getCause() instanceof JacksonException je) {
            return jsonProblem(je, request);
        }
        return problem(HttpStatus.BAD_REQUEST, "malformed-json", "Malformed JSON", "the request body is not"
                + " readable JSON", List.of(), request);
    }

    @Override
    protected ResponseEntity<Object> handleMaxUploadSizeExceededException(MaxUploadSizeExceededException e,
                                                                           HttpHeaders headers, HttpStatusCode status,
                                                                           WebRequest request) {
        return problem(HttpStatus.CONTENT_TOO_LARGE, "upload-too-large", "Upload too large",
                "the upload exceeds the size limit: " + e.getMessage(),
                List.of(new RequestRejected.FieldError("images", "too large")), request);
    }

    /** Spring MVC's own exceptions keep their status; they just get our type URI and instance. */
    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers,
                                                             HttpStatusCode statusCode, WebRequest request) {
        if (body instanceof ProblemDetail p) {
            String slug = HttpStatus.resolve(statusCode.value()) == null ? "error"
                    : HttpStatus.valueOf(statusCode.value()).name().toLowerCase().replace('_', '-');
            p.setType(URI.create(TYPE_BASE + slug));
            p.setInstance(URI.create(path(request)));
            p.setProperty("errors", List.of());
        }
        return super.handleExceptionInternal(ex, body, headers, statusCode, request);
    }

    private ResponseEntity<Object> jsonProblem(JacksonException e, WebRequest request) {
        if (e instanceof UnrecognizedPropertyException u) {
            String field = fieldPath(u);
            return problem(HttpStatus.BAD_REQUEST, "unknown-field", "Unknown field", "unknown field '" + field
                    + "'", List.of(new RequestRejected.FieldError(field, "unknown field; known fields: "
                    + u.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")))),
                    request);
        }
        if (e instanceof DatabindException d && !d.getPath().isEmpty()) {
            String field = fieldPath(d);
            String what = e instanceof InvalidFormatException f ? "cannot read '" + f.getValue() + "' as "
                    + f.getTargetType().getSimpleName() : "wrong type";
            return problem(HttpStatus.BAD_REQUEST, "invalid-field", "Invalid field", field + ": " + what,
                    List.of(new RequestRejected.FieldError(field, what)), request);
        }
        String detail = e instanceof StreamReadException ? "malformed JSON: " + e.getOriginalMessage()
                : "unreadable JSON: " + e.getOriginalMessage();
        return problem(HttpStatus.BAD_REQUEST, "malformed-json", "Malformed JSON", detail, List.of(), request);
    }

    private static String fieldPath(DatabindException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            if (ref.getPropertyName() != null) {
                if (!sb.isEmpty()) {
                    sb.append('.');
                }
                sb.append(ref.getPropertyName());
            } else if (ref.getIndex() >= 0) {
                sb.append('[').append(ref.getIndex()).append(']');
            }
        }
        return sb.toString();
    }

    private ResponseEntity<Object> problem(HttpStatus status, String type, String title, String detail,
                                           List<RequestRejected.FieldError> errors, WebRequest request) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(URI.create(TYPE_BASE + type));
        p.setTitle(title);
        p.setInstance(URI.create(path(request)));
        p.setProperty("errors", errors.stream().map(f -> {
            Map<String, String> m = new java.util.LinkedHashMap<>();
            m.put("field", f.field());
            m.put("message", f.message());
            return m;
        }).toList());
        return ResponseEntity.status(status).contentType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON)
                .body(p);
    }

    private static String path(WebRequest request) {
        return request instanceof ServletWebRequest s ? s.getRequest().getRequestURI() : "/";
    }
}
