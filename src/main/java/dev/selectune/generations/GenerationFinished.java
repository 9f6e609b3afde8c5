package dev.selectune.generations;

import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.RequestRejected;

import java.util.List;

/** A finished generation cannot be cancelled. */
public class GenerationFinished extends RequestRejected {
    public GenerationFinished(String id, JobStatus status) {
        super("generation " + id + " is " + status.wireName() + " and cannot be cancelled", List.of());
    }
}
