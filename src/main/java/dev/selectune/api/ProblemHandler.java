package dev.selectune.api;

import dev.selectune.generations.GenerationActive;
import dev.selectune.generations.GenerationFinished;
import dev.selectune.util.Problem;
import dev.selectune.jobs.IdempotencyKeyReused;
import dev.selectune.jobs.ImageSetInUse;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.InvalidRequest;
import dev.selectune.jobs.JobActive;
import dev.selectune.jobs.JobFinished;
import dev.selectune.jobs.NotFound;
import dev.selectune.jobs.RequestRejected;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatus;
import org.springframework.http.HttpStatusCode;
import org.springframework.context.i18n.LocaleContextHolder;
import org.springframework.http.ProblemDetail;
import org.springframework.http.ResponseEntity;
import org.springframework.http.converter.HttpMessageNotReadableException;
import org.springframework.web.ErrorResponse;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.RestControllerAdvice;
import org.springframework.web.context.request.ServletWebRequest;
import org.springframework.web.context.request.WebRequest;
import org.springframework.web.method.annotation.MethodArgumentTypeMismatchException;
import org.springframework.web.multipart.MaxUploadSizeExceededException;
import org.springframework.web.multipart.MultipartException;
import org.springframework.web.servlet.mvc.method.annotation.ResponseEntityExceptionHandler;
import tools.jackson.core.JacksonException;
import tools.jackson.core.JsonParser;
import tools.jackson.core.JsonToken;
import tools.jackson.core.TokenStreamContext;
import tools.jackson.core.exc.InputCoercionException;
import tools.jackson.core.exc.StreamReadException;
import tools.jackson.databind.DatabindException;
import tools.jackson.databind.exc.InvalidFormatException;
import tools.jackson.databind.exc.MismatchedInputException;
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
    static final String TYPE_BASE = Problems.TYPE_BASE;

    /** How a kind of refusal is answered: its status and the type URI's last segment and title. */
    record Kind(HttpStatus status, String type, String title) {
    }

    /** Every kind of {@link RequestRejected}, the only place they meet HTTP. */
    private static final Map<Class<? extends RequestRejected>, Kind> KINDS = Map.ofEntries(
            Map.entry(InvalidRequest.class, new Kind(HttpStatus.UNPROCESSABLE_CONTENT, "invalid-request",
                    "Invalid request")),
            Map.entry(MalformedRequest.class, new Kind(HttpStatus.BAD_REQUEST, "invalid-request", "Invalid request")),
            Map.entry(InvalidParameter.class, new Kind(HttpStatus.BAD_REQUEST, "invalid-parameter",
                    "Invalid parameter")),
            Map.entry(UnsupportedPart.class, new Kind(HttpStatus.UNSUPPORTED_MEDIA_TYPE, "unsupported-media-type",
                    "Unsupported media type")),
            Map.entry(NotFound.class, new Kind(HttpStatus.NOT_FOUND, "not-found", "Not Found")),
            Map.entry(JobActive.class, new Kind(HttpStatus.CONFLICT, "job-active", "Job still active")),
            Map.entry(JobFinished.class, new Kind(HttpStatus.CONFLICT, "job-finished", "Job already finished")),
            Map.entry(GenerationActive.class, new Kind(HttpStatus.CONFLICT, "generation-active",
                    "Generation still active")),
            Map.entry(GenerationFinished.class, new Kind(HttpStatus.CONFLICT, "generation-finished",
                    "Generation already finished")),
            Map.entry(ImageSetInUse.class, new Kind(HttpStatus.CONFLICT, "image-set-in-use", "Image set in use")),
            Map.entry(IdempotencyKeyReused.class, new Kind(HttpStatus.UNPROCESSABLE_CONTENT,
                    "idempotency-key-reused", "Idempotency-Key reused")),
            Map.entry(UploadRefused.TooManyImages.class, new Kind(HttpStatus.UNPROCESSABLE_CONTENT,
                    "too-many-images", "Too many images")),
            Map.entry(UploadRefused.InvalidFilename.class, new Kind(HttpStatus.BAD_REQUEST, "invalid-filename",
                    "Invalid filename")),
            Map.entry(UploadRefused.TooLarge.class, new Kind(HttpStatus.CONTENT_TOO_LARGE, "upload-too-large",
                    "Upload too large")),
            Map.entry(UploadRefused.InvalidImage.class, new Kind(HttpStatus.UNPROCESSABLE_CONTENT, "invalid-image",
                    "Invalid image")),
            Map.entry(UploadRefused.DecodeBusy.class, new Kind(HttpStatus.SERVICE_UNAVAILABLE, "decode-busy",
                    "Busy decoding images")));

    /** The kind of {@code e}: its own class's, or that of the nearest mapped superclass. */
    static Kind kind(RequestRejected e) {
        return kind(e.getClass());
    }

    static Kind kind(Class<? extends RequestRejected> type) {
        for (Class<?> c = type; c != RequestRejected.class; c = c.getSuperclass()) {
            Kind kind = KINDS.get(c);
            if (kind != null) {
                return kind;
            }
        }
        throw new IllegalStateException("no problem type for " + type.getName());
    }

    /** The HTTP status {@code e} is answered with. */
    public static int status(RequestRejected e) {
        return kind(e).status().value();
    }

    @ExceptionHandler(RequestRejected.class)
    ResponseEntity<Object> rejected(RequestRejected e, WebRequest request) {
        Kind kind = kind(e);
        ResponseEntity<Object> response = problem(kind.status(), kind.type(), kind.title(), e.getMessage(),
                e.problems(), request);
        if (!(e instanceof UploadRefused.DecodeBusy busy)) {
            return response;
        }
        return ResponseEntity.status(response.getStatusCode()).headers(response.getHeaders())
                .header(HttpHeaders.RETRY_AFTER, Long.toString(Math.max(1, busy.retryAfter().toSeconds())))
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
                List.of(new Problem(e.getName(), "expected " + type)), request);
    }

    /**
     * A body sent as multipart/form-data that is not: no boundary in the Content-Type, a plain body, a part without
     * headers, no closing boundary. (Too large a body is {@link MaxUploadSizeExceededException}, answered below.)
     */
    @ExceptionHandler(MultipartException.class)
    ResponseEntity<Object> multipart(MultipartException e, WebRequest request) {
        log.debug("unreadable multipart body on {}", path(request), e);
        return problem(HttpStatus.BAD_REQUEST, "invalid-multipart", "Invalid multipart body", "the body is not"
                + " readable multipart/form-data (a boundary in the Content-Type, then parts that each have a"
                + " Content-Disposition header, then the closing boundary)", List.of(), request);
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
        if (causedBy(e, "FileCountLimitExceededException")) {
            return problem(HttpStatus.CONTENT_TOO_LARGE, "too-many-parts", "Too many parts", "the body has more"
                    + " parts than the server reads at all (server.tomcat.max-part-count)",
                    List.of(new Problem("images", "far too many parts")), request);
        }
        return problem(HttpStatus.CONTENT_TOO_LARGE, "upload-too-large", "Upload too large",
                "the upload exceeds the size limit: " + e.getMessage(),
                List.of(new Problem("images", "too large")), request);
    }

    /** Spring MVC's own exceptions keep their status; they just get our type URI and instance. */
    @Override
    protected ResponseEntity<Object> handleExceptionInternal(Exception ex, Object body, HttpHeaders headers,
                                                             HttpStatusCode statusCode, WebRequest request) {
        if (body == null && ex instanceof ErrorResponse error) {
            // Spring's own exceptions (415, 405, 404 for no handler) pass their problem only as the exception's body.
            body = error.updateAndGetBody(getMessageSource(), LocaleContextHolder.getLocale());
        }
        if (body instanceof ProblemDetail p) {
            p.setType(URI.create(TYPE_BASE + Problems.slug(statusCode.value())));
            p.setInstance(URI.create(path(request)));
            p.setProperty("errors", List.of());
        }
        return super.handleExceptionInternal(ex, body, headers, statusCode, request);
    }

    /**
     * A body Jackson could not read, with the field it was reading: an unknown field (400), a value of the wrong
     * type or out of the Java type's range (422, as for any other invalid value) or broken JSON such as a NaN
     * token (400, still naming the field the parser was in).
     */
    private ResponseEntity<Object> jsonProblem(JacksonException e, WebRequest request) {
        String field = fieldPath(e);
        if (e instanceof UnrecognizedPropertyException u) {
            return problem(HttpStatus.BAD_REQUEST, "unknown-field", "Unknown field", "unknown field '" + field
                    + "'", List.of(new Problem(field, "unknown field; known fields: "
                    + u.getKnownPropertyIds().stream().map(String::valueOf).sorted().collect(Collectors.joining(", ")))),
                    request);
        }
        if (!field.isEmpty() && (e instanceof DatabindException || e instanceof InputCoercionException)) {
            String what = e instanceof InputCoercionException c
                    ? "out of range for " + jsonType(c.getTargetType())
                    : e instanceof MismatchedInputException m && m.getTargetType() != null
                    ? "expected " + jsonType(m.getTargetType()) + (e instanceof InvalidFormatException f
                            ? ", got '" + f.getValue() + "'" : ", got " + tokenName(m))
                    : firstLine(e.getOriginalMessage());
            return problem(HttpStatus.UNPROCESSABLE_CONTENT, "invalid-field", "Invalid field", field + ": " + what,
                    List.of(new Problem(field, what)), request);
        }
        String what = firstLine(e.getOriginalMessage());
        String detail = (e instanceof StreamReadException ? "malformed JSON" : "unreadable JSON")
                + (field.isEmpty() ? "" : " at " + field) + ": " + what;
        return problem(HttpStatus.BAD_REQUEST, "malformed-json", "Malformed JSON", detail,
                field.isEmpty() ? List.of() : List.of(new Problem(field, what)), request);
    }

    /** {@code validation_prompts[1]} from Jackson's reference chain, or else from where the parser stopped. */
    static String fieldPath(JacksonException e) {
        StringBuilder sb = new StringBuilder();
        for (var ref : e.getPath()) {
            append(sb, ref.getPropertyName(), ref.getIndex());
        }
        if (sb.isEmpty() && e.processor() instanceof JsonParser parser) {
            java.util.ArrayDeque<TokenStreamContext> chain = new java.util.ArrayDeque<>();
            for (TokenStreamContext c = parser.streamReadContext(); c != null && !c.inRoot(); c = c.getParent()) {
                chain.push(c);
            }
            for (TokenStreamContext c : chain) {
                if (c.inObject()) {
                    append(sb, c.currentName(), -1);
                } else if (c.inArray()) {
                    append(sb, null, Math.max(0, c.getCurrentIndex()));
                }
            }
        }
        return sb.toString();
    }

    private static void append(StringBuilder sb, String name, int index) {
        if (name != null) {
            if (!sb.isEmpty()) {
                sb.append('.');
            }
            sb.append(name);
        } else if (index >= 0) {
            sb.append('[').append(index).append(']');
        }
    }

    private static String jsonType(Class<?> type) {
        if (type == null) {
            return "a value";
        }
        if (type == Integer.class || type == int.class || type == Long.class || type == long.class) {
            return "an integer";
        }
        if (Number.class.isAssignableFrom(type) || type == double.class || type == float.class) {
            return "a number";
        }
        if (type == Boolean.class || type == boolean.class) {
            return "a boolean";
        }
        if (CharSequence.class.isAssignableFrom(type)) {
            return "a string";
        }
        if (java.util.Collection.class.isAssignableFrom(type) || type.isArray()) {
            return "an array";
        }
        return "an object";
    }

    private static String tokenName(MismatchedInputException m) {
        JsonToken t = m.getCurrentToken();
        if (t == null) {
            return "another type";
        }
        return switch (t) {
            case VALUE_STRING -> "a string";
            case VALUE_NUMBER_INT -> "an integer";
            case VALUE_NUMBER_FLOAT -> "a number with a fraction";
            case VALUE_TRUE, VALUE_FALSE -> "a boolean";
            case VALUE_NULL -> "null";
            case START_ARRAY -> "an array";
            case START_OBJECT -> "an object";
            default -> "another type";
        };
    }

    private static String firstLine(String message) {
        if (message == null) {
            return "unreadable";
        }
        int nl = message.indexOf('\n');
        return nl < 0 ? message : message.substring(0, nl);
    }

    private static boolean causedBy(Throwable e, String simpleName) {
        for (Throwable t = e; t != null; t = t.getCause() == t ? null : t.getCause()) {
            if (t.getClass().getSimpleName().equals(simpleName)) {
                return true;
            }
        }
        return false;
    }

    private ResponseEntity<Object> problem(HttpStatus status, String type, String title, String detail,
                                           List<Problem> errors, WebRequest request) {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(URI.create(TYPE_BASE + type));
        p.setTitle(title);
        p.setInstance(URI.create(path(request)));
        p.setProperty("errors", Problems.errors(errors));
        return ResponseEntity.status(status).contentType(org.springframework.http.MediaType.APPLICATION_PROBLEM_JSON)
                .body(p);
    }

    private static String path(WebRequest request) {
        return request instanceof ServletWebRequest s ? s.getRequest().getRequestURI() : "/";
    }
}
