package dev.selectune.jobs;

import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingResult;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The durable queue in the {@code jobs} table. Every state change a worker makes is one UPDATE guarded by
 * {@code worker_id = ?} and {@code status = 'running'}: once a lease has expired and the job was taken over, the
 * old worker's writes match no row and it learns it lost the job.
 */
@Component
public class JobQueue {
    private final JdbcTemplate jdbc;

    public JobQueue(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    /** What a heartbeat learned: whether this worker still owns the job, and whether a client asked to cancel it. */
    public record Heartbeat(boolean owned, boolean cancelRequested) {
    }

    /**
     * Takes the oldest queued job for {@code workerId}. {@code FOR UPDATE SKIP LOCKED} lets any number of workers
     * (threads or replicas) claim at once without waiting on, or double-taking, a row another claim holds.
     */
    @Transactional
    public Optional<String> claim(String workerId, String device, Duration lease) {
        List<String> ids = jdbc.queryForList("""
                update jobs set status = 'running', worker_id = ?, device = ?, attempts = attempts + 1,
                       lease_expires_at = now() + ? * interval '1 millisecond',
                       started_at = coalesce(started_at, now())
                where id = (select id from jobs where status = 'queued' and not cancel_requested
                            order by seq limit 1 for update skip locked)
                returning id""", String.class, workerId, device, lease.toMillis());
        ids.forEach(id -> event(id, "info", "claimed", "claimed by worker " + workerId + " on " + device));
        return ids.stream().findFirst();
    }

    public Heartbeat heartbeat(String jobId, String workerId, Duration lease) {
        List<Boolean> rows = jdbc.queryForList("""
                update jobs set lease_expires_at = now() + ? * interval '1 millisecond'
                where id = ? and worker_id = ? and status = 'running' returning cancel_requested""",
                Boolean.class, lease.toMillis(), jobId, workerId);
        return rows.isEmpty() ? new Heartbeat(false, false) : new Heartbeat(true, rows.get(0));
    }

    /** Records one finished step; false when the job is no longer this worker's. */
    @Transactional
    public boolean step(String jobId, String workerId, StepReport r) {
        int updated = jdbc.update("update jobs set step = ? where id = ? and worker_id = ? and status = 'running'",
                r.step(), jobId, workerId);
        if (updated == 0) {
            return false;
        }
        // A resumed job re-runs the steps after its checkpoint: the newer figures replace the lost worker's.
        jdbc.update("""
                insert into job_metrics (job_id, step, strategy, timestep, p_zo, loss, seconds, peak_bytes)
                values (?, ?, ?, ?, ?, ?, ?, ?)
                on conflict (job_id, step) do update set strategy = excluded.strategy, timestep = excluded.timestep,
                    p_zo = excluded.p_zo, loss = excluded.loss, seconds = excluded.seconds,
                    peak_bytes = excluded.peak_bytes, created_at = now()""",
                jobId, r.step(), r.strategy().wireName(), r.timestep(), r.pZo(), r.loss(), r.seconds(), r.peakBytes());
        jdbc.update("""
                update jobs set bp_steps = (select count(*) from job_metrics m
                                            where m.job_id = jobs.id and m.step <= ? and m.strategy <> 'zo_high'),
                                zo_steps = (select count(*) from job_metrics m
                                            where m.job_id = jobs.id and m.step <= ? and m.strategy = 'zo_high')
                where id = ?""", r.step(), r.step(), jobId);
        return true;
    }

    public boolean checkpointed(String jobId, String workerId, int step) {
        return jdbc.update("update jobs set checkpoint_step = ? where id = ? and worker_id = ? and status = 'running'",
                step, jobId, workerId) == 1;
    }

    /** Marks a running job finished with the trainer's result; false when the job was no longer ours. */
    @Transactional
    public boolean succeed(String jobId, String workerId, TrainingResult r, JobStatus status) {
        int n = jdbc.update("""
                update jobs set status = ?, step = ?, bp_steps = ?, zo_steps = ?, final_loss = ?, seed = ?,
                       bp_peak_bytes = ?, zo_peak_bytes = ?, peak_bytes = ?, memory_device = ?, memory_measured_as = ?,
                       finished_at = now(), lease_expires_at = null
                where id = ? and worker_id = ? and status = 'running'""",
                status.wireName(), r.stepsDone(), r.bpSteps(), r.zoSteps(), Double.isFinite(r.finalLoss()) ? r.finalLoss() : null,
                r.seed(), r.memory().bpPeakBytes(), r.memory().zoPeakBytes(), r.memory().peakBytes(), r.memory().device(),
                r.memory().measuredAs(), jobId, workerId);
        return n == 1;
    }

    public boolean fail(String jobId, String workerId, String error) {
        return jdbc.update("""
                update jobs set status = 'failed', error = ?, finished_at = now(), lease_expires_at = null
                where id = ? and worker_id = ? and status = 'running'""", error, jobId, workerId) == 1;
    }

    /**
     * Gives a running job back to the queue without spending an attempt (graceful shutdown: the job was
     * checkpointed first, so the next worker resumes where this one stopped).
     */
    public boolean release(String jobId, String workerId) {
        return jdbc.update("""
                update jobs set status = 'queued', worker_id = null, device = null, lease_expires_at = null,
                       attempts = greatest(attempts - 1, 0)
                where id = ? and worker_id = ? and status = 'running'""", jobId, workerId) == 1;
    }

    /** Cancels a queued job at once; false when it was not queued (any more). */
    public boolean cancelQueued(String jobId) {
        return jdbc.update("""
                update jobs set status = 'cancelled', cancel_requested = true, finished_at = now()
                where id = ? and status = 'queued'""", jobId) == 1;
    }

    /** Asks the worker of a running job to stop; it sees the flag at its next heartbeat. */
    public boolean requestCancel(String jobId) {
        return jdbc.update("update jobs set cancel_requested = true where id = ? and status = 'running'", jobId) == 1;
    }

    /**
     * Requeues running jobs whose lease expired (their worker died or hung), or fails them once they have used
     * {@code max_attempts}. Safe on every replica at once: each row changes in one UPDATE, which Postgres re-checks
     * against the row's latest version.
     *
     * @return the ids requeued and failed, for logs and metrics
     */
    @Transactional
    public Reaped reapExpired() {
        List<String> failed = jdbc.queryForList("""
                update jobs set status = 'failed', finished_at = now(), lease_expires_at = null,
                       error = 'worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease and the job'
                               || ' has used all ' || max_attempts || ' attempts'
                where status = 'running' and lease_expires_at < now() and attempts >= max_attempts
                returning id""", String.class);
        List<String> requeued = jdbc.queryForList("""
                update jobs set status = case when cancel_requested then 'cancelled' else 'queued' end,
                       finished_at = case when cancel_requested then now() end,
                       worker_id = null, device = null, lease_expires_at = null
                where status = 'running' and lease_expires_at < now() and attempts < max_attempts
                returning id""", String.class);
        failed.forEach(id -> event(id, "error", "failed", "lease expired and no attempts are left"));
        requeued.forEach(id -> event(id, "warning", "requeued",
                "the worker's lease expired; the job goes back to the queue and resumes from its last checkpoint"));
        return new Reaped(requeued, failed);
    }

    public record Reaped(List<String> requeued, List<String> failed) {
    }

    public long queueDepth() {
        Long n = jdbc.queryForObject("select count(*) from jobs where status = 'queued'", Long.class);
        return n == null ? 0 : n;
    }

    public void event(String jobId, String level, String type, String message) {
        jdbc.update("insert into job_events (job_id, level, type, message) values (?, ?, ?, ?)",
                jobId, level, type, message);
    }
}
