package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/**
 * A request the service refuses, for a reason of its own kind (a subclass per kind: {@link InvalidRequest},
 * {@link NotFound}, {@link JobActive}, ...). It says nothing of HTTP: the API's {@code ProblemHandler} is the one
 * place that turns each kind into an RFC 9457 problem with its status and type.
 */
public abstract class RequestRejected extends RuntimeException {
    private final List<Problem> problems;

    protected RequestRejected(String detail, List<Problem> problems) {
        super(detail);
        this.problems = List.copyOf(problems);
    }

    /** Every offending field with what is wrong with it (empty when the request as a whole is refused). */
    public List<Problem> problems() {
        return problems;
    }
}
