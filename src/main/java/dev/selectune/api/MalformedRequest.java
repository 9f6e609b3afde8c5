package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.jobs.RequestRejected;

import java.util.List;

/** The request's shape is wrong (a bad Idempotency-Key header, a missing or repeated {@code spec} part). */
public class MalformedRequest extends RequestRejected {
    public MalformedRequest(String detail, Problem problem) {
        super(detail, List.of(problem));
    }
}
