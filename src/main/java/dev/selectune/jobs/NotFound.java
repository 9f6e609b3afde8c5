package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/** No such job, image set or artifact for this tenant (another tenant's count as none). */
public class NotFound extends RequestRejected {
    public NotFound(String what) {
        super(what + " does not exist", List.of());
    }

    /** A missing thing named by a field of the request, such as a job's {@code image_set_id}. */
    public NotFound(String what, Problem problem) {
        super(what + " does not exist", List.of(problem));
    }
}
