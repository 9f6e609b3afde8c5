package dev.selectune.config;

import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.http.HttpStatus;
import org.springframework.http.MediaType;
import org.springframework.http.ProblemDetail;
import org.springframework.web.filter.OncePerRequestFilter;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.net.URI;
import java.util.List;

/**
 * Bearer-token authentication for {@code /v1/**}: the key's tenant goes into the request attribute
 * {@link #TENANT}, which every controller scopes its queries by. With auth off, everything is tenant "local".
 * The API description ({@code /v3/api-docs}, Swagger UI) needs a key too unless {@code selectune.api-docs.public}.
 */
public class AuthFilter extends OncePerRequestFilter {
    public static final String TENANT = "selectune.tenant";
    public static final String LOCAL_TENANT = "local";

    /** The API description's paths (openapi.yaml as JSON and YAML, Swagger UI's page and assets). */
    public static final List<String> DOCS_PATTERNS = List.of("/v3/api-docs", "/v3/api-docs/*", "/v3/api-docs.yaml",
            "/swagger-ui.html", "/swagger-ui/*");

    private final ApiKeys keys;
    private final boolean enabled;
    private final boolean docsPublic;
    private final JsonMapper json;

    public AuthFilter(ApiKeys keys, boolean enabled, boolean docsPublic, JsonMapper json) {
        this.keys = keys;
        this.enabled = enabled;
        this.docsPublic = docsPublic;
        this.json = json;
    }

    @Override
    protected boolean shouldNotFilter(HttpServletRequest request) {
        String uri = request.getRequestURI();
        if (uri.startsWith("/v1/")) {
            return false;
        }
        return docsPublic || !(uri.startsWith("/v3/api-docs") || uri.startsWith("/swagger-ui"));
    }

    @Override
    protected void doFilterInternal(HttpServletRequest request, HttpServletResponse response, FilterChain chain)
            throws ServletException, IOException {
        if (!enabled) {
            request.setAttribute(TENANT, LOCAL_TENANT);
            chain.doFilter(request, response);
            return;
        }
        String header = request.getHeader("Authorization");
        String key = header != null && header.regionMatches(true, 0, "Bearer ", 0, 7) ? header.substring(7).trim() : null;
        if (header == null && SessionCredentials.apiKey(request) != null) {
            // The web console's scripts: the key signed in to the session, state changes only with its CSRF token.
            if (!SessionCredentials.csrfSatisfied(request)) {
                refuse(request, response, HttpStatus.FORBIDDEN, "forbidden", "Forbidden",
                        "a console request that changes state must carry the session's " + SessionCredentials.CSRF_HEADER);
                return;
            }
            key = SessionCredentials.apiKey(request);
        }
        var tenant = keys.authenticate(key);
        if (tenant.isEmpty()) {
            response.setHeader("WWW-Authenticate", "Bearer");
            refuse(request, response, HttpStatus.UNAUTHORIZED, "unauthorized", "Unauthorized", key == null
                    ? "send an API key as 'Authorization: Bearer <key>'" : "the API key is unknown or revoked");
            return;
        }
        request.setAttribute(TENANT, tenant.get());
        chain.doFilter(request, response);
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response, HttpStatus status, String slug,
                        String title, String detail) throws IOException {
        ProblemDetail p = ProblemDetail.forStatusAndDetail(status, detail);
        p.setType(URI.create("https://selectune.dev/problems/" + slug));
        p.setTitle(title);
        p.setInstance(URI.create(request.getRequestURI()));
        response.setStatus(status.value());
        response.setContentType(MediaType.APPLICATION_PROBLEM_JSON_VALUE);
        json.writeValue(response.getOutputStream(), p);
    }
}
