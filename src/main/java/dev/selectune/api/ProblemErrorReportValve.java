package dev.selectune.api;

import org.apache.catalina.connector.Request;
import org.apache.catalina.connector.Response;
import org.apache.catalina.valves.ErrorReportValve;
import org.apache.coyote.ActionCode;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.Writer;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * Tomcat's own error report as a problem detail instead of an HTML page: what Tomcat refuses before any servlet
 * runs (an encoded slash or backslash, {@code %00} or bad UTF-8 in the path, a header over the size limit) and any
 * error no servlet wrote a body for. It replaces the host's {@link ErrorReportValve} (see
 * {@link ProblemErrorPages}).
 */
public class ProblemErrorReportValve extends ErrorReportValve {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Override
    protected void report(Request request, Response response, Throwable throwable) {
        int status = response.getStatus();
        if (status < 400 || response.getContentWritten() > 0) {
            return;
        }
        AtomicBoolean ioAllowed = new AtomicBoolean(true);
        response.getCoyoteResponse().action(ActionCode.IS_IO_ALLOWED, ioAllowed);
        if (!ioAllowed.get()) {
            return;
        }
        // Tomcat's messages for what it refuses ("Invalid URI") are safe to show; an exception's are not.
        String message = response.getMessage();
        String detail = throwable != null || status >= 500 || message == null || message.isBlank()
                ? Problems.title(status) : message;
        String json = JSON.writeValueAsString(Problems.body(status, Problems.slug(status), Problems.title(status),
                detail, request.getRequestURI(), List.of()));
        try {
            response.setContentType(Problems.MEDIA_TYPE);
            response.setCharacterEncoding("UTF-8");
            Writer writer = response.getReporter();
            if (writer != null) {
                writer.write(json);
                response.finishResponse();
            }
        } catch (IOException | IllegalStateException e) {
            // The client is gone or the response was committed meanwhile: nothing more to tell it.
        }
    }
}
