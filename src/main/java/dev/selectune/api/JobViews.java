package dev.selectune.api;

import dev.selectune.jobs.Job;
import dev.selectune.jobs.JobQueue;
import dev.selectune.jobs.JobSpec;
import dev.selectune.jobs.JobStatus;
import org.springframework.stereotype.Component;
import tools.jackson.core.type.TypeReference;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;

/** Turns a job row into its API form: queue position, progress with an estimated finish, memory, links. */
@Component
public class JobViews {
    private final JobQueue queue;
    private final JsonMapper json;

    public JobViews(JobQueue queue, JsonMapper json) {
        this.queue = queue;
        this.json = json;
    }

    public Views.JobView view(Job j) {
        return views(List.of(j)).get(0);
    }

    /** A page of jobs, with the queue positions of its queued jobs in one query rather than one each. */
    public List<Views.JobView> views(List<Job> page) {
        Map<Long, Integer> positions = queue.queuePositions(
                page.stream().filter(j -> j.getStatus() == JobStatus.QUEUED).map(Job::getSeq).toList());
        return page.stream().map(j -> view(j, positions.get(j.getSeq()))).toList();
    }

    private Views.JobView view(Job j, Integer position) {
        JobStatus status = j.getStatus();
        Instant eta = null;
        if (status == JobStatus.RUNNING && j.getStep() > 0 && j.getStartedAt() != null) {
            // The steps so far at the pace so far; good enough for a progress bar, not a promise.
            Duration elapsed = Duration.between(j.getStartedAt(), Instant.now());
            eta = Instant.now().plus(elapsed.multipliedBy(j.getTotalSteps() - j.getStep()).dividedBy(j.getStep()));
        } else if (status.isTerminal()) {
            eta = j.getFinishedAt();
        }
        double fraction = j.getTotalSteps() == 0 ? 0 : Math.min(1.0, (double) j.getStep() / j.getTotalSteps());
        String base = "/v1/jobs/" + j.getId();
        Views.JobError error = j.getError() == null ? null
                : new Views.JobError(j.getError().startsWith("invalid input") ? "invalid_input"
                        : j.getError().contains("lease") ? "worker_lost" : "training_failed", j.getError());
        return new Views.JobView(j.getId(), "job", status.wireName(), j.getBaseModel(), j.getImageSetId(),
                j.getCreatedAt(), j.getStartedAt(), j.getFinishedAt(), position, j.isCancelRequested(), j.getAttempts(),
                new Views.Progress(j.getStep(), j.getTotalSteps(), fraction, eta, j.getResumedFromStep()),
                new Views.Memory(j.getBpPeakBytes(), j.getZoPeakBytes(), j.getPeakBytes(), j.getMemoryDevice(),
                        j.getMemoryMeasuredAs()),
                new Views.Steps(j.getBpSteps(), j.getZoSteps()), j.getFinalLoss(), j.getSeed(), error,
                json.readValue(j.getSpec(), JobSpec.class),
                j.getMetadata() == null ? Map.of() : json.readValue(j.getMetadata(), new TypeReference<Map<String, String>>() { }),
                new Views.Links(base, base + "/events", base + "/metrics", base + "/artifacts", base + "/cancel"),
                j.getEvaluation() == null ? null
                        : json.readValue(j.getEvaluation(), new TypeReference<Map<String, Object>>() { }));
    }
}
