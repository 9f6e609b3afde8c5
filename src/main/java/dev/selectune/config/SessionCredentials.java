package dev.selectune.config;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;

import java.security.MessageDigest;
import java.nio.charset.StandardCharsets;

/**
 * The web console's sign-in, held server-side in the HTTP session: the API key a person typed (never sent back to
 * the browser, never in a URL) and the session's CSRF token. {@link AuthFilter} accepts the session in place of a
 * bearer header, so the console's scripts call the same {@code /v1} API; a state-changing call must then carry the
 * token in {@link #CSRF_HEADER}, which another site's page cannot read.
 */
public final class SessionCredentials {
    public static final String API_KEY = "selectune.console.api-key";
    public static final String CSRF_TOKEN = "selectune.console.csrf";
    public static final String CSRF_HEADER = "X-CSRF-Token";
    public static final String CSRF_PARAMETER = "_csrf";

    private SessionCredentials() {
    }

    /** The signed-in session's API key, or null. */
    public static String apiKey(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        return session == null ? null : (String) session.getAttribute(API_KEY);
    }

    /** True for a safe method, or when the header or form field carries the session's CSRF token. */
    public static boolean csrfSatisfied(HttpServletRequest request) {
        String method = request.getMethod();
        if (method.equals("GET") || method.equals("HEAD") || method.equals("OPTIONS")) {
            return true;
        }
        HttpSession session = request.getSession(false);
        String expected = session == null ? null : (String) session.getAttribute(CSRF_TOKEN);
        String given = request.getHeader(CSRF_HEADER);
        if (given == null && request.getContentType() != null
                && request.getContentType().startsWith("application/x-www-form-urlencoded")) {
            given = request.getParameter(CSRF_PARAMETER);
        }
        return expected != null && given != null && MessageDigest.isEqual(
                expected.getBytes(StandardCharsets.UTF_8), given.getBytes(StandardCharsets.UTF_8));
    }
}
