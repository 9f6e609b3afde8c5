package dev.selectune.jobs;

import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.training.StepReport;
import dev.selectune.training.schedule.Strategy;
import dev.selectune.training.TrainingResult;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookEvent;
import dev.selectune.webhooks.Webhooks;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.interceptor.TransactionAspectSupport;

import java.time.Duration;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The durable queue in the {@code jobs} table. Every write a worker makes to a job is fenced by its {@link Lease}:
 * the transaction first locks the job row and goes on only if the row is still {@code running} under the lease's
 * worker id and generation. Once a lease has expired and the job was taken over (by another worker, or by the same
 * worker id in a later claim), the old lease's writes change nothing and its worker learns it lost the job.
 */
@Component
public class JobQueue implements LeasedQueue {
    /**
     * The lease in one claim: {@code generation} is the job's {@code lease_generation} after that claim (every claim
     * increments it), so two claims of the same job by the same worker id are still told apart.
     */
    public record Lease(String jobId, String workerId, long generation) {
    }

    private static final String HELD = "id = ? and worker_id = ? and lease_generation = ? and status = "
            + Sql.of(JobStatus.RUNNING);
    private static final String BP_STEP = "m.strategy <> " + Sql.of(Strategy.ZO_HIGH);
    private static final String ZO_STEP = "m.strategy = " + Sql.of(Strategy.ZO_HIGH);

    private final JdbcTemplate jdbc;
    private final Webhooks webhooks;

    public JobQueue(JdbcTemplate jdbc, Webhooks webhooks) {
        this.jdbc = jdbc;
        this.webhooks = webhooks;
    }

    /** What a heartbeat learned: whether this worker still owns the job, and whether a client asked to cancel it. */
    public record Heartbeat(boolean owned, boolean cancelRequested) {
    }

    /**
     * Takes the oldest queued job for {@code workerId}. {@code FOR UPDATE SKIP LOCKED} lets any number of workers
     * (threads or replicas) claim at once without waiting on, or double-taking, a row another claim holds. A job
     * that ran before is {@linkplain #rewindToCheckpoint rewound to its checkpoint} in the same transaction.
     */
    @Transactional
    public Optional<Lease> claim(String workerId, String device, Duration lease) {
        List<Lease> claimed = jdbc.query("""
                update jobs set status = %s, worker_id = ?, device = ?, attempts = attempts + 1,
                       lease_generation = lease_generation + 1,
                       lease_expires_at = now() + ? * interval '1 millisecond',
                       started_at = coalesce(started_at, now())
                where id = (select id from jobs where status = %s and not cancel_requested
                            order by seq limit 1 for update skip locked)
                returning id, lease_generation""".formatted(Sql.of(JobStatus.RUNNING), Sql.of(JobStatus.QUEUED)),
                (rs, i) -> new Lease(rs.getString(1), workerId, rs.getLong(2)), workerId, device, lease.toMillis());
        for (Lease l : claimed) {
            event(l.jobId(), EventType.CLAIMED, "claimed by worker " + workerId + " on " + device);
            rewindToCheckpoint(l.jobId());
            webhooks.enqueue(Subject.JOB, l.jobId(), WebhookEvent.START);
        }
        return claimed.stream().findFirst();
    }

    /**
     * A job that ran before goes on from its checkpoint (step 0 without one), so the steps after it run again: the
     * job's {@code step} is set back to the checkpoint (with {@code resumed_from_step} saying so), their metrics rows
     * are deleted (the job ends with exactly one row per step) and a {@code resumed} event names the steps repeated.
     */
    private void rewindToCheckpoint(String jobId) {
        Map<String, Object> row = jdbc.queryForMap("select step, checkpoint_step, attempts from jobs where id = ?",
                jobId);
        int step = (Integer) row.get("step");
        Integer checkpoint = (Integer) row.get("checkpoint_step");
        if (checkpoint == null && step == 0) {
            return;
        }
        int from = checkpoint == null ? 0 : checkpoint;
        jdbc.update("delete from job_metrics where job_id = ? and step > ?", jobId, from);
        jdbc.update("""
                update jobs set step = ?, resumed_from_step = ?,
                       bp_steps = (select count(*) from job_metrics m where m.job_id = jobs.id and %s),
                       zo_steps = (select count(*) from job_metrics m where m.job_id = jobs.id and %s)
                where id = ?""".formatted(BP_STEP, ZO_STEP), from, from, jobId);
        String repeated = step <= from ? "no step is repeated"
                : step == from + 1 ? "step " + step + " will be repeated"
                : "steps " + (from + 1) + "-" + step + " will be repeated";
        event(jobId, EventType.RESUMED, (checkpoint == null ? "restarted from step 0 as there is no checkpoint"
                : "resumed from checkpoint at step " + from) + " (attempt " + row.get("attempts") + "); " + repeated);
    }

    public Heartbeat heartbeat(Lease l, Duration lease) {
        List<Boolean> rows = jdbc.queryForList("update jobs set lease_expires_at = now() + ? * interval '1 millisecond'"
                + " where " + HELD + " returning cancel_requested", Boolean.class, lease.toMillis(), l.jobId(),
                l.workerId(), l.generation());
        return rows.isEmpty() ? new Heartbeat(false, false) : new Heartbeat(true, rows.get(0));
    }

    /**
     * Records one finished step (progress, its metrics row and, when {@code progressMessage} is not null, a
     * {@code progress} event); false, and nothing written, when the lease is lost.
     */
    @Transactional
    public boolean step(Lease l, StepReport r, String progressMessage) {
        // The guarded UPDATE is the fence: it locks the row until this transaction ends.
        if (jdbc.update("update jobs set step = ? where " + HELD, r.step(), l.jobId(), l.workerId(),
                l.generation()) == 0) {
            return false;
        }
        // A resumed job re-runs the steps after its checkpoint, whose rows its claim deleted; should a step's row
        // exist all the same (a checkpoint written before fencing, newer than its recorded step), the new one wins.
        jdbc.update("""
                insert into job_metrics (job_id, step, strategy, timestep, p_zo, loss, seconds, peak_bytes)
                values (?, ?, ?, ?, ?, ?, ?, ?)
                on conflict (job_id, step) do update set strategy = excluded.strategy, timestep = excluded.timestep,
                    p_zo = excluded.p_zo, loss = excluded.loss, seconds = excluded.seconds,
                    peak_bytes = excluded.peak_bytes, created_at = now()""",
                l.jobId(), r.step(), r.strategy().wireName(), r.timestep(), r.pZo(), r.loss(), r.seconds(),
                r.peakBytes());
        jdbc.update("""
                update jobs set bp_steps = (select count(*) from job_metrics m
                                            where m.job_id = jobs.id and m.step <= ? and %s),
                                zo_steps = (select count(*) from job_metrics m
                                            where m.job_id = jobs.id and m.step <= ? and %s)
                where id = ?""".formatted(BP_STEP, ZO_STEP), r.step(), r.step(), l.jobId());
        if (progressMessage != null) {
            event(l.jobId(), EventType.PROGRESS, progressMessage);
        }
        webhooks.enqueue(Subject.JOB, l.jobId(), WebhookEvent.PROGRESS);
        return true;
    }

    /** The checkpoint a lease moved in: {@code replacedKey} is the blob it superseded (null for the first). */
    public record Checkpointed(String replacedKey) {
    }

    /**
     * Stores a checkpoint taken after {@code step} under a new blob {@code key} and makes it the job's checkpoint,
     * in one transaction: {@code storeBlob} runs first (the Postgres blob store's row joins this transaction; an
     * S3 object is written before the row lock is taken, so a slow upload does not hold it), then the lease is
     * checked. Refused, the transaction rolls back and the job keeps the checkpoint its current owner points to;
     * the caller deletes {@code key} (an S3 object is not rolled back).
     */
    @Transactional
    public Optional<Checkpointed> checkpoint(Lease l, int step, String key, Runnable storeBlob) {
        storeBlob.run();
        if (!holds(l)) {
            TransactionAspectSupport.currentTransactionStatus().setRollbackOnly();
            return Optional.empty();
        }
        String replaced = jdbc.queryForObject("select checkpoint_key from jobs where id = ?", String.class, l.jobId());
        jdbc.update("update jobs set checkpoint_key = ?, checkpoint_step = ? where id = ?", key, step, l.jobId());
        event(l.jobId(), EventType.CHECKPOINT, "checkpoint saved after step " + step);
        return Optional.of(new Checkpointed(replaced));
    }

    /** The blob key of the job's checkpoint in force, if it has one. */
    public Optional<String> checkpointKey(String jobId) {
        return jdbc.queryForList("select checkpoint_key from jobs where id = ? and checkpoint_key is not null",
                String.class, jobId).stream().findFirst();
    }

    /**
     * Finishes a running job with the trainer's result and publishes its artifacts (blobs already stored) in one
     * transaction, so the artifact list appears complete together with the final status; false, and nothing
     * written, when the lease is lost.
     */
    @Transactional
    public boolean finish(Lease l, TrainingResult r, JobStatus status, List<Artifact> artifacts, String message) {
        int n = jdbc.update("""
                update jobs set status = ?, step = ?, bp_steps = ?, zo_steps = ?, final_loss = ?, seed = ?,
                       bp_peak_bytes = ?, zo_peak_bytes = ?, peak_bytes = ?, memory_device = ?, memory_measured_as = ?,
                       finished_at = now(), lease_expires_at = null, checkpoint_key = null
                where %s""".formatted(HELD),
                status.wireName(), r.stepsDone(), r.bpSteps(), r.zoSteps(),
                Double.isFinite(r.finalLoss()) ? r.finalLoss() : null, r.seed(), r.memory().bpPeakBytes(),
                r.memory().zoPeakBytes(), r.memory().peakBytes(), r.memory().device(), r.memory().measuredAs(),
                l.jobId(), l.workerId(), l.generation());
        if (n == 0) {
            return false;
        }
        for (Artifact a : artifacts) {
            jdbc.update("""
                    insert into artifacts (job_id, name, blob_key, content_type, size_bytes, sha256)
                    values (?, ?, ?, ?, ?, ?)""",
                    l.jobId(), a.getName(), a.getBlobKey(), a.getContentType(), a.getSizeBytes(), a.getSha256());
        }
        event(l.jobId(), EventType.finished(status), message);
        webhooks.enqueue(Subject.JOB, l.jobId(), WebhookEvent.COMPLETED);
        return true;
    }

    /**
     * Stores a job's evaluation scores (JSON) with its {@code evaluated} event; false, and nothing written, when the
     * lease is lost.
     */
    @Transactional
    public boolean evaluated(Lease l, String evaluationJson, String message) {
        if (jdbc.update("update jobs set evaluation = ? where " + HELD, evaluationJson, l.jobId(), l.workerId(),
                l.generation()) == 0) {
            return false;
        }
        event(l.jobId(), EventType.EVALUATED, message);
        return true;
    }

    /**
     * An event of the worker holding {@code l} that changes nothing else ({@code evaluating}, {@code
     * evaluation-skipped}); false, and nothing written, when the lease is lost.
     */
    @Transactional
    public boolean event(Lease l, EventType type, String message) {
        if (!holds(l)) {
            return false;
        }
        event(l.jobId(), type, message);
        return true;
    }

    /** Fails a running job with {@code error} (and its {@code failed} event); false when the lease is lost. */
    @Transactional
    public boolean fail(Lease l, String error) {
        if (jdbc.update("update jobs set status = " + Sql.of(JobStatus.FAILED) + ", error = ?, finished_at = now(),"
                + " lease_expires_at = null, checkpoint_key = null where " + HELD, error, l.jobId(), l.workerId(),
                l.generation()) == 0) {
            return false;
        }
        event(l.jobId(), EventType.FAILED, error);
        webhooks.enqueue(Subject.JOB, l.jobId(), WebhookEvent.COMPLETED);
        return true;
    }

    /**
     * Gives a running job back to the queue without spending an attempt (graceful shutdown: the job was
     * checkpointed first, so the next worker resumes where this one stopped), with a {@code released} event.
     */
    @Transactional
    public boolean release(Lease l, String message) {
        if (jdbc.update("""
                update jobs set status = %s, worker_id = null, device = null, lease_expires_at = null,
                       attempts = greatest(attempts - 1, 0)
                where %s""".formatted(Sql.of(JobStatus.QUEUED), HELD), l.jobId(), l.workerId(), l.generation()) == 0) {
            return false;
        }
        event(l.jobId(), EventType.RELEASED, message);
        return true;
    }

    /** Cancels a queued job at once; false when it was not queued (any more). */
    @Transactional
    public boolean cancelQueued(String jobId) {
        boolean cancelled = jdbc.update("""
                update jobs set status = %s, cancel_requested = true, finished_at = now()
                where id = ? and status = %s""".formatted(Sql.of(JobStatus.CANCELLED), Sql.of(JobStatus.QUEUED)),
                jobId) == 1;
        if (cancelled) {
            webhooks.enqueue(Subject.JOB, jobId, WebhookEvent.COMPLETED);
        }
        return cancelled;
    }

    /** Asks the worker of a running job to stop; it sees the flag at its next heartbeat. */
    public boolean requestCancel(String jobId) {
        return jdbc.update("update jobs set cancel_requested = true where id = ? and status = "
                + Sql.of(JobStatus.RUNNING), jobId) == 1;
    }

    /**
     * Requeues running jobs whose lease expired (their worker died or hung), or fails them once they have used
     * {@code max_attempts}. Safe on every replica at once: each row changes in one UPDATE, which Postgres re-checks
     * against the row's latest version (and which waits for a worker's fenced write in progress to commit).
     *
     * @return the ids requeued and failed, for logs and metrics
     */
    @Override
    @Transactional
    public Reaped reapExpired() {
        List<String> failed = jdbc.queryForList("""
                update jobs set status = %s, finished_at = now(), lease_expires_at = null,
                       error = 'worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease and the job'
                               || ' has used all ' || max_attempts || ' attempts'
                where status = %s and lease_expires_at < now() and attempts >= max_attempts
                returning id""".formatted(Sql.of(JobStatus.FAILED), Sql.of(JobStatus.RUNNING)), String.class);
        List<String> requeued = jdbc.queryForList("""
                update jobs set status = case when cancel_requested then %s else %s end,
                       finished_at = case when cancel_requested then now() end,
                       worker_id = null, device = null, lease_expires_at = null
                where status = %s and lease_expires_at < now() and attempts < max_attempts
                returning id""".formatted(Sql.of(JobStatus.CANCELLED), Sql.of(JobStatus.QUEUED),
                Sql.of(JobStatus.RUNNING)), String.class);
        failed.forEach(id -> event(id, EventType.FAILED, "lease expired and no attempts are left"));
        requeued.forEach(id -> event(id, EventType.REQUEUED,
                "the worker's lease expired; the job goes back to the queue and resumes from its last checkpoint"));
        failed.forEach(id -> webhooks.enqueue(Subject.JOB, id, WebhookEvent.COMPLETED));
        // A job whose cancellation was asked for ends cancelled here instead of going back to the queue.
        jdbc.queryForList("select id from jobs where id = any(?) and status = " + Sql.of(JobStatus.CANCELLED),
                String.class, (Object) requeued.toArray(String[]::new))
                .forEach(id -> webhooks.enqueue(Subject.JOB, id, WebhookEvent.COMPLETED));
        return new Reaped(requeued, failed);
    }

    @Override
    public SelectuneMetrics.Queue meters() {
        return SelectuneMetrics.Queue.JOBS;
    }

    @Override
    public long queueDepth() {
        Long n = jdbc.queryForObject("select count(*) from jobs where status = " + Sql.of(JobStatus.QUEUED),
                Long.class);
        return n == null ? 0 : n;
    }

    /**
     * The 1-based queue positions of the queued jobs with these {@code seq}s, in one query (a page of jobs asks for
     * all of its own at once).
     */
    public Map<Long, Integer> queuePositions(Collection<Long> seqs) {
        Map<Long, Integer> positions = new HashMap<>();
        if (seqs.isEmpty()) {
            return positions;
        }
        jdbc.query("""
                select s.seq, (select count(*) from jobs q where q.status = %s and q.seq < s.seq)
                from unnest(?::bigint[]) as s(seq)""".formatted(Sql.of(JobStatus.QUEUED)),
                rs -> {
                    positions.put(rs.getLong(1), rs.getInt(2) + 1);
                }, (Object) seqs.toArray(Long[]::new));
        return positions;
    }

    /**
     * An event written by whoever holds no lease (the API on a client's request, the reaper, inside a claim's or a
     * fenced write's transaction). A worker's own events go through a fenced method instead.
     */
    void event(String jobId, EventType type, String message) {
        jdbc.update("insert into job_events (job_id, level, type, message) values (?, ?, ?, ?)",
                jobId, type.level().wireName(), type.wireName(), message);
    }

    /**
     * The fence: locks the job row until the transaction ends (so the reaper or a new claim waits for this write
     * instead of slipping in between the check and the commit) and says whether the lease still holds. Call only
     * inside a transaction.
     */
    private boolean holds(Lease l) {
        return !jdbc.queryForList("select 1 from jobs where " + HELD + " for no key update", Integer.class,
                l.jobId(), l.workerId(), l.generation()).isEmpty();
    }
}
