package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/** The request is well-formed but its values are not acceptable (a job spec out of range, images too small). */
public class InvalidRequest extends RequestRejected {
    public InvalidRequest(String detail, List<Problem> problems) {
        super(detail, problems);
    }
}
