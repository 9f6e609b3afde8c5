package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/** An Idempotency-Key already used by this tenant for a different request (spec or images); nothing is stored. */
public class IdempotencyKeyReused extends RequestRejected {
    public IdempotencyKeyReused(String key, String earlierJobId) {
        super("Idempotency-Key '" + key + "' " + message(earlierJobId),
                List.of(new Problem("Idempotency-Key", message(earlierJobId))));
    }

    private static String message(String earlierJobId) {
        return "already used for job " + earlierJobId + " with a different request (spec or images); send a new key"
                + " for a new request";
    }
}
