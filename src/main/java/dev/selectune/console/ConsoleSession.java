package dev.selectune.console;

import dev.selectune.config.ApiKeys;
import dev.selectune.config.AuthFilter;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.config.SessionCredentials;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpSession;
import org.springframework.stereotype.Component;

import java.security.SecureRandom;
import java.util.Base64;
import java.util.Optional;

/**
 * Who is signed in to the console: the tenant of the API key held in the session (checked again on every request,
 * so a revoked key ends the session), or tenant "local" when authentication is off.
 */
@Component
public class ConsoleSession {
    private static final SecureRandom RANDOM = new SecureRandom();
    private final ApiKeys keys;
    private final boolean authEnabled;

    public ConsoleSession(ApiKeys keys, SelectuneProperties props) {
        this.keys = keys;
        this.authEnabled = props.auth().enabled();
    }

    public boolean authEnabled() {
        return authEnabled;
    }

    public Optional<String> tenant(HttpServletRequest request) {
        if (!authEnabled) {
            return Optional.of(AuthFilter.LOCAL_TENANT);
        }
        return keys.authenticate(SessionCredentials.apiKey(request));
    }

    /** The tenant, for a handler behind {@link ConsoleGuard} (which sent everyone else to the sign-in page). */
    public String requireTenant(HttpServletRequest request) {
        return tenant(request).orElseThrow(() -> new ConsoleForbidden("sign in first"));
    }

    /** The session's CSRF token, made (with the session) on first use: the sign-in form needs one too. */
    public String csrfToken(HttpServletRequest request) {
        HttpSession session = request.getSession(true);
        String token = (String) session.getAttribute(SessionCredentials.CSRF_TOKEN);
        if (token == null) {
            token = newToken();
            session.setAttribute(SessionCredentials.CSRF_TOKEN, token);
        }
        return token;
    }

    /**
     * Signs in with {@code key} when it is valid: a new session id (no fixation) and a new CSRF token. The key stays
     * in the session, server-side; the browser only holds the session cookie.
     */
    public boolean signIn(HttpServletRequest request, String key) {
        if (keys.authenticate(key == null ? null : key.trim()).isEmpty()) {
            return false;
        }
        request.getSession(true);
        request.changeSessionId();
        HttpSession session = request.getSession();
        session.setAttribute(SessionCredentials.API_KEY, key.trim());
        session.setAttribute(SessionCredentials.CSRF_TOKEN, newToken());
        return true;
    }

    public void signOut(HttpServletRequest request) {
        HttpSession session = request.getSession(false);
        if (session != null) {
            session.invalidate();
        }
    }

    private static String newToken() {
        byte[] bytes = new byte[24];
        RANDOM.nextBytes(bytes);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(bytes);
    }
}
