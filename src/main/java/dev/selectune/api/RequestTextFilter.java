package dev.selectune.api;

import dev.selectune.util.Problem;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.stereotype.Component;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.CharacterCodingException;
import java.nio.charset.CodingErrorAction;
import java.nio.charset.StandardCharsets;
import java.util.List;

/**
 * Refuses, before any controller runs, a path or query parameter that is not valid percent-encoded UTF-8 or that
 * holds a control character: ids and cursors end up in SQL, where PostgreSQL cannot even represent a NUL, and no
 * id, cursor or filter of this API contains one. The problem (400) names the parameter.
 */
@Component
public class RequestTextFilter extends OncePerRequestFilter {
    private final JsonMapper json;

    public RequestTextFilter(JsonMapper json) {
        this.json = json;
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        Problem bad = check(request);
        if (bad != null) {
            response.setStatus(400);
            response.setContentType(Problems.MEDIA_TYPE);
            response.setCharacterEncoding("UTF-8");
            json.writeValue(response.getOutputStream(), Problems.body(400, "invalid-parameter", "Invalid parameter",
                    bad.field() + ": " + bad.message(), request.getRequestURI(), List.of(bad)));
            return;
        }
        chain.doFilter(request, response);
    }

    /** The first bad part of the request line, or null. */
    static Problem check(HttpServletRequest request) {
        String path = request.getServletPath() + (request.getPathInfo() == null ? "" : request.getPathInfo());
        if (hasControl(path)) {
            return new Problem("path", "must not contain control characters");
        }
        String query = request.getQueryString();
        if (query == null || query.isEmpty()) {
            return null;
        }
        for (String pair : query.split("&", -1)) {
            int eq = pair.indexOf('=');
            String name;
            try {
                name = decode(eq < 0 ? pair : pair.substring(0, eq));
            } catch (IllegalArgumentException e) {
                return new Problem("query", "a parameter name is " + e.getMessage());
            }
            if (hasControl(name)) {
                return new Problem("query", "a parameter name contains control characters");
            }
            try {
                if (eq >= 0 && hasControl(decode(pair.substring(eq + 1)))) {
                    return new Problem(name, "must not contain control characters");
                }
            } catch (IllegalArgumentException e) {
                return new Problem(name, "is " + e.getMessage());
            }
        }
        return null;
    }

    private static boolean hasControl(String s) {
        for (int i = 0; i < s.length(); i++) {
            if (Character.isISOControl(s.charAt(i))) {
                return true;
            }
        }
        return false;
    }

    /** Strict form decoding: '+' is a space, every %XX a byte, and the bytes must be UTF-8. */
    private static String decode(String s) {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream(s.length());
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            if (c == '%') {
                if (i + 2 >= s.length() || Character.digit(s.charAt(i + 1), 16) < 0
                        || Character.digit(s.charAt(i + 2), 16) < 0) {
                    throw new IllegalArgumentException("not percent-encoded correctly");
                }
                bytes.write(Character.digit(s.charAt(i + 1), 16) * 16 + Character.digit(s.charAt(i + 2), 16));
                i += 2;
            } else if (c == '+') {
                bytes.write(' ');
            } else {
                byte[] b = String.valueOf(c).getBytes(StandardCharsets.UTF_8);
                bytes.write(b, 0, b.length);
            }
        }
        try {
            return StandardCharsets.UTF_8.newDecoder().onMalformedInput(CodingErrorAction.REPORT)
                    .onUnmappableCharacter(CodingErrorAction.REPORT).decode(ByteBuffer.wrap(bytes.toByteArray()))
                    .toString();
        } catch (CharacterCodingException e) {
            throw new IllegalArgumentException("not UTF-8");
        }
    }
}
