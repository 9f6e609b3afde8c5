package dev.selectune.generations;

import dev.selectune.jobs.JobStatus;
import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Modifying;
import org.springframework.data.jpa.repository.Query;

import java.util.Collection;
import java.util.List;
import java.util.Optional;

public interface GenerationRepository extends JpaRepository<Generation, String> {
    Optional<Generation> findByIdAndTenant(String id, String tenant);

    Optional<Generation> findByTenantAndIdempotencyKey(String tenant, String idempotencyKey);

    /** Newest first, strictly older than {@code beforeSeq}; {@code status} null means any. */
    @Query("select g from Generation g where g.tenant = :tenant and g.seq < :beforeSeq"
            + " and (:status is null or g.status = :status) order by g.seq desc")
    List<Generation> page(String tenant, String status, long beforeSeq, Limit limit);

    @Modifying
    @Query("delete from Generation g where g.id = :id and g.tenant = :tenant and g.status in :statuses")
    int deleteIfStatusIn(String id, String tenant, Collection<String> statuses);

    /** Deletes the generation if it is finished; its events and image rows go with it (on delete cascade). */
    default int deleteFinished(String id, String tenant) {
        return deleteIfStatusIn(id, tenant, JobStatus.FINISHED.stream().map(JobStatus::wireName).toList());
    }
}
