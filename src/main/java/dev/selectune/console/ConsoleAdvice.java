package dev.selectune.console;

import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.InvalidRequest;
import dev.selectune.jobs.JobActive;
import dev.selectune.jobs.JobFinished;
import dev.selectune.jobs.NotFound;
import dev.selectune.jobs.RequestRejected;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.core.Ordered;
import org.springframework.core.annotation.Order;
import org.springframework.http.HttpStatus;
import org.springframework.ui.Model;
import org.springframework.web.bind.annotation.ControllerAdvice;
import org.springframework.web.bind.annotation.ExceptionHandler;
import org.springframework.web.bind.annotation.ModelAttribute;

/**
 * What every console page has (the CSRF token for its forms and scripts, whether sign-out applies) and the
 * console's error page: the service's refusals as a page with their status, instead of the API's problem+json.
 */
@ControllerAdvice(basePackageClasses = ConsoleAdvice.class)
@Order(Ordered.HIGHEST_PRECEDENCE)
public class ConsoleAdvice {
    private static final Logger log = LoggerFactory.getLogger(ConsoleAdvice.class);
    private final ConsoleSession session;

    public ConsoleAdvice(ConsoleSession session) {
        this.session = session;
    }

    @ModelAttribute
    void common(HttpServletRequest request, Model model) {
        model.addAttribute("csrf", session.csrfToken(request));
        model.addAttribute("authEnabled", session.authEnabled());
        model.addAttribute("signedIn", session.tenant(request).isPresent());
        model.addAttribute("path", request.getRequestURI());
    }

    @ExceptionHandler(ConsoleForbidden.class)
    String forbidden(ConsoleForbidden e, HttpServletRequest request, HttpServletResponse response, Model model) {
        return page(HttpStatus.FORBIDDEN, e.getMessage(), request, response, model);
    }

    @ExceptionHandler(RequestRejected.class)
    String rejected(RequestRejected e, HttpServletRequest request, HttpServletResponse response, Model model) {
        HttpStatus status = e instanceof NotFound ? HttpStatus.NOT_FOUND
                : e instanceof JobActive || e instanceof JobFinished ? HttpStatus.CONFLICT
                : e instanceof InvalidParameter ? HttpStatus.BAD_REQUEST
                : e instanceof InvalidRequest ? HttpStatus.UNPROCESSABLE_CONTENT : HttpStatus.BAD_REQUEST;
        String detail = status == HttpStatus.NOT_FOUND
                ? "There is no such job here. It may have been deleted, or it belongs to another account."
                : e.getMessage();
        return page(status, detail, request, response, model);
    }

    @ExceptionHandler(Exception.class)
    String unexpected(Exception e, HttpServletRequest request, HttpServletResponse response, Model model) {
        log.error("console page {} failed", request.getRequestURI(), e);
        return page(HttpStatus.INTERNAL_SERVER_ERROR, "Something went wrong on the server; the log has the details.",
                request, response, model);
    }

    private String page(HttpStatus status, String detail, HttpServletRequest request, HttpServletResponse response,
                        Model model) {
        common(request, model);
        response.setStatus(status.value());
        model.addAttribute("status", status.value());
        model.addAttribute("title", status.getReasonPhrase());
        model.addAttribute("detail", detail);
        return "console/error";
    }
}
