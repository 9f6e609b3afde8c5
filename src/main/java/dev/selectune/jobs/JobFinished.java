package dev.selectune.jobs;

import java.util.List;

/** A finished job cannot be cancelled. */
public class JobFinished extends RequestRejected {
    public JobFinished(String jobId, JobStatus now, JobStatus before) {
        super("job " + jobId + " is " + now.wireName() + " (was " + before.wireName() + ") and cannot be cancelled",
                List.of());
    }
}
