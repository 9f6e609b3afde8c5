package dev.selectune.jobs;

import dev.selectune.util.Problem;
import java.util.List;

/** A query parameter that cannot be used ({@code limit} out of range, an unknown {@code status} or cursor). */
public class InvalidParameter extends RequestRejected {
    public InvalidParameter(String name, String message) {
        super(name + ": " + message, List.of(new Problem(name, message)));
    }
}
