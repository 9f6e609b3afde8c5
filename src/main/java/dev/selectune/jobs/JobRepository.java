package dev.selectune.jobs;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

public interface JobRepository extends JpaRepository<Job, String> {
    Optional<Job> findByIdAndTenant(String id, String tenant);

    Optional<Job> findByTenantAndIdempotencyKey(String tenant, String idempotencyKey);

    /** Newest first, strictly older than {@code beforeSeq}; {@code status} null means any. */
    @Query("select j from Job j where j.tenant = :tenant and j.seq < :beforeSeq"
            + " and (:status is null or j.status = :status) order by j.seq desc")
    List<Job> page(String tenant, String status, long beforeSeq, Limit limit);

    /** Deletes the job if its status is one of {@code statuses}; see {@link #deleteFinished}. */
    @Modifying
    @Query("delete from Job j where j.id = :id and j.tenant = :tenant and j.status in :statuses")
    int deleteIfStatusIn(String id, String tenant, Collection<String> statuses);

    /** Deletes the job if it is finished; its events, metrics and artifact rows go with it (on delete cascade). */
    default int deleteFinished(String id, String tenant) {
        return deleteIfStatusIn(id, tenant, JobStatus.FINISHED.stream().map(JobStatus::wireName).toList());
    }

    /** A few of the jobs made from an image set, to name them when the set cannot be deleted. */
    @Query("select j.id from Job j where j.imageSetId = :imageSetId order by j.seq")
    List<String> idsUsingImageSet(String imageSetId, Limit limit);
}
