package dev.selectune.jobs;

import org.springframework.data.domain.Limit;
import org.springframework.data.jpa.repository.JpaRepository;
import org.springframework.data.jpa.repository.Query;

import java.util.List;
import java.util.Optional;

public interface JobRepository extends JpaRepository<Job, String> {
    Optional<Job> findByIdAndTenant(String id, String tenant);

    Optional<Job> findByTenantAndIdempotencyKey(String tenant, String idempotencyKey);

    /** Newest first, strictly older than {@code beforeSeq}; {@code status} null means any. */
    @Query("select j from Job j where j.tenant = :tenant and j.seq < :beforeSeq"
            + " and (:status is null or j.status = :status) order by j.seq desc")
    List<Job> page(String tenant, String status, long beforeSeq, Limit limit);

    @Query("select count(j) from Job j where j.status = 'queued' and j.seq < :seq")
    long queuedBefore(long seq);

    @Query("select count(j) from Job j where j.status = 'queued'")
    long queueDepth();
}
