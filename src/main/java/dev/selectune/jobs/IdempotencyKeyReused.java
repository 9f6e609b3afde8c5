package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/** An Idempotency-Key already used by this tenant for a different request (spec or images); nothing is stored. */
public class IdempotencyKeyReused extends RequestRejected {
    public IdempotencyKeyReused(String key, String earlierJobId) {
        super("Idempotency-Key '" + key + "' " + message(earlierJobId),
                List.of(new Problem("Idempotency-Key", message(earlierJobId))));
    }

    /** The same for another kind of object: {@code what} is its name ("generation"), {@code request} what a request is. */
    public IdempotencyKeyReused(String key, String what, String earlierId, String request) {
        super("Idempotency-Key '" + key + "' " + message(what, earlierId, request),
                List.of(new Problem("Idempotency-Key", message(what, earlierId, request))));
    }

    private static String message(String what, String earlierId, String request) {
        return "already used for " + what + " " + earlierId + " with a different request (" + request + "); send a"
                + " new key for a new request";
    }

    private static String message(String earlierJobId) {
        return "already used for job " + earlierJobId + " with a different request (spec or images); send a new key"
                + " for a new request";
    }
}
