package dev.selectune.api;

import dev.selectune.util.Problem;
import org.springframework.http.HttpStatus;

import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The one shape of every error body, for the places that write it without Spring MVC's ProblemDetail machinery
 * (servlet filters, the error page, Tomcat's error report): {@code type}, {@code title}, {@code status},
 * {@code detail}, {@code instance} and {@code errors}, as {@link ProblemHandler} answers.
 */
public final class Problems {
    public static final String TYPE_BASE = "https://selectune.dev/problems/";
    public static final String MEDIA_TYPE = "application/problem+json";
    /** Longer request paths (a 20,000-character URI) are cut in {@code instance}. */
    private static final int MAX_INSTANCE = 256;

    private Problems() {
    }

    /** The type slug for a bare status: 405 is {@code method-not-allowed}. */
    public static String slug(int status) {
        HttpStatus s = HttpStatus.resolve(status);
        return s == null ? "error" : s.name().toLowerCase().replace('_', '-');
    }

    public static String title(int status) {
        HttpStatus s = HttpStatus.resolve(status);
        return s == null ? "Error" : s.getReasonPhrase();
    }

    /** A problem as a map, ready for any JSON writer. */
    public static Map<String, Object> body(int status, String type, String title, String detail, String instance,
                                           List<Problem> errors) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("type", TYPE_BASE + type);
        m.put("title", title);
        m.put("status", status);
        if (detail != null) {
            m.put("detail", detail);
        }
        if (instance != null) {
            m.put("instance", instance.length() > MAX_INSTANCE ? instance.substring(0, MAX_INSTANCE) + "..." : instance);
        }
        m.put("errors", errors(errors));
        return m;
    }

    /** The {@code errors} array: each problem as {@code {"field": ..., "message": ...}} (field null when none). */
    public static List<Map<String, String>> errors(List<Problem> problems) {
        return problems.stream().map(f -> {
            Map<String, String> e = new LinkedHashMap<>();
            e.put("field", f.field());
            e.put("message", f.message());
            return e;
        }).toList();
    }
}
