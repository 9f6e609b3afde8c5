package dev.selectune.console;

import dev.selectune.config.SessionCredentials;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.springframework.web.servlet.HandlerInterceptor;

/**
 * In front of every console page: sends a visitor who is not signed in to the sign-in page, refuses a form posted
 * without the session's CSRF token, and sets headers that keep the pages to the jar's own assets (a content security
 * policy of 'self': no script, style or request reaches another host) and out of other sites' frames.
 */
class ConsoleGuard implements HandlerInterceptor {
    static final String POLICY = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self';"
            + " connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

    private final ConsoleSession session;

    ConsoleGuard(ConsoleSession session) {
        this.session = session;
    }

    @Override
    public boolean preHandle(HttpServletRequest request, HttpServletResponse response, Object handler)
            throws Exception {
        response.setHeader("Content-Security-Policy", POLICY);
        response.setHeader("X-Content-Type-Options", "nosniff");
        response.setHeader("Referrer-Policy", "same-origin");
        response.setHeader("Cache-Control", "no-store");
        if (!SessionCredentials.csrfSatisfied(request)) {
            throw new ConsoleForbidden("the form was not sent by this console (missing or stale CSRF token);"
                    + " reload the page and try again");
        }
        boolean signInPage = request.getRequestURI().equals("/sign-in");
        if (!signInPage && session.tenant(request).isEmpty()) {
            response.sendRedirect("/sign-in");
            return false;
        }
        return true;
    }
}
