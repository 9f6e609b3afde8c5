package dev.selectune.api;

import jakarta.servlet.RequestDispatcher;
import jakarta.servlet.http.HttpServletRequest;
import org.springframework.boot.webmvc.error.ErrorController;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.RequestMapping;
import org.springframework.web.bind.annotation.RestController;

import java.util.List;
import java.util.Map;

/**
 * The servlet container's error page ({@code /error}) as a problem detail, replacing Spring Boot's JSON: what
 * reaches it is a {@code sendError} outside Spring MVC's exception handling, such as the 405 Tomcat answers to
 * TRACE. The message of an exception is never shown (it may describe internals); its status is.
 */
@RestController
public class ProblemErrorController implements ErrorController {

    @RequestMapping(path = "${server.error.path:${error.path:/error}}", produces = {Problems.MEDIA_TYPE,
            MediaType.ALL_VALUE})
    public ResponseEntity<Map<String, Object>> error(HttpServletRequest request) {
        Object code = request.getAttribute(RequestDispatcher.ERROR_STATUS_CODE);
        int status = code instanceof Integer i && i >= 400 ? i : 500;
        Object uri = request.getAttribute(RequestDispatcher.ERROR_REQUEST_URI);
        Object message = request.getAttribute(RequestDispatcher.ERROR_MESSAGE);
        boolean hasException = request.getAttribute(RequestDispatcher.ERROR_EXCEPTION) != null;
        String detail = status >= 500 || hasException || !(message instanceof String s) || s.isBlank()
                ? Problems.title(status) : s;
        return ResponseEntity.status(status).contentType(MediaType.APPLICATION_PROBLEM_JSON)
                .body(Problems.body(status, Problems.slug(status), Problems.title(status), detail,
                        uri == null ? null : uri.toString(), List.of()));
    }
}
