package dev.selectune.generations;

import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.RequestRejected;

import java.util.List;

/** A queued or running generation cannot be deleted: it must be cancelled (and have stopped) first. */
public class GenerationActive extends RequestRejected {
    public GenerationActive(String id, JobStatus status) {
        super("generation " + id + " is " + status.wireName() + "; cancel it and delete it once it is cancelled",
                List.of());
    }
}
