package dev.selectune.jobs;

import java.util.List;

/** A queued or running job cannot be deleted: it must be cancelled (and have stopped) first. */
public class JobActive extends RequestRejected {
    public JobActive(String jobId, JobStatus status) {
        super("job " + jobId + " is " + status.wireName() + "; cancel it and delete it once it is cancelled",
                List.of());
    }
}
