package dev.selectune.jobs;

import dev.selectune.storage.BlobStore;
import org.springframework.stereotype.Service;

import java.util.List;

/** What the API reads about a tenant's jobs and image sets: lists, events, metrics, artifacts. */
@Service
public class JobReads {
    private final JobService service;
    private final JobRepository jobs;
    private final ImageRecordRepository images;
    private final JobEventRepository events;
    private final StepMetricRepository stepMetrics;
    private final ArtifactRepository artifacts;
    private final BlobStore blobs;

    public JobReads(JobService service, JobRepository jobs, ImageRecordRepository images, JobEventRepository events,
                    StepMetricRepository stepMetrics, ArtifactRepository artifacts, BlobStore blobs) {
        this.service = service;
        this.jobs = jobs;
        this.images = images;
        this.events = events;
        this.stepMetrics = stepMetrics;
        this.artifacts = artifacts;
        this.blobs = blobs;
    }

    /** The tenant's jobs, newest first, optionally of one status, after the job {@code afterId} (a cursor). */
    public Slice<Job> list(String tenant, JobStatus status, String afterId, int limit) {
        long before = afterId == null ? Long.MAX_VALUE : jobs.findByIdAndTenant(afterId, tenant).map(Job::getSeq)
                .orElseThrow(() -> new InvalidParameter("after", "no job " + afterId + " to continue after"));
        return Slice.fetch(limit, l -> jobs.page(tenant, status == null ? null : status.wireName(), before, l));
    }

    /** A job's events with ids above {@code afterId}, oldest first. */
    public Slice<JobEvent> events(String tenant, String id, long afterId, int limit) {
        service.require(tenant, id);
        return Slice.fetch(limit, l -> events.findByJobIdAndIdGreaterThanOrderById(id, afterId, l));
    }

    /** A job's per-step metrics after step {@code afterStep}. */
    public Slice<StepMetric> metrics(String tenant, String id, int afterStep, int limit) {
        service.require(tenant, id);
        return Slice.fetch(limit, l -> stepMetrics.findByJobIdAndStepGreaterThanOrderByStep(id, afterStep, l));
    }

    /** A finished job's artifacts by name (none before it finished: they are published with the final status). */
    public List<Artifact> artifacts(String tenant, String id) {
        service.require(tenant, id);
        return artifacts.findByJobIdOrderByName(id);
    }

    /** An artifact with its bytes. */
    public record ArtifactContent(Artifact artifact, byte[] bytes) {
    }

    public ArtifactContent artifact(String tenant, String id, String name) {
        service.require(tenant, id);
        Artifact a = artifacts.findByJobIdAndName(id, name)
                .orElseThrow(() -> new NotFound("artifact " + name + " of job " + id));
        return new ArtifactContent(a, blobs.get(a.getBlobKey())
                .orElseThrow(() -> new IllegalStateException("blob " + a.getBlobKey() + " is missing")));
    }

    /** The images of an image set (found with {@link JobService#requireImageSet}), in upload order. */
    public List<ImageRecord> images(ImageSet set) {
        return images.findByImageSetIdOrderByPosition(set.getId());
    }
}
