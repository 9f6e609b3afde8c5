package dev.selectune.api;

import dev.selectune.util.Problem;
import dev.selectune.jobs.RequestRejected;

import java.util.List;

/** A multipart part sent with a media type the API does not read (the {@code spec} part must be JSON). */
public class UnsupportedPart extends RequestRejected {
    public UnsupportedPart(String part, String message) {
        super(part + ": " + message, List.of(new Problem(part, message)));
    }
}
