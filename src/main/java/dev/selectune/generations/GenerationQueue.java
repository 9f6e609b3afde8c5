package dev.selectune.generations;

import dev.selectune.jobs.EventType;
import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.LeasedQueue;
import dev.selectune.metrics.SelectuneMetrics;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookEvent;
import dev.selectune.webhooks.Webhooks;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Transactional;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The durable queue in the {@code generations} table, fenced as the job queue is: every write a worker makes to a
 * generation is a guarded UPDATE that goes through only while the row is {@code running} under the claim's worker id
 * and lease generation, so a worker whose lease expired (and whose generation was taken over) changes nothing.
 *
 * <p>Every change of a generation's status is made here and announced through {@link #statusChanged}, in the same
 * transaction: the one place to hook what must follow a transition (its event today; a webhook's outbox row).
 */
@Component
public class GenerationQueue implements LeasedQueue {
    /** One claim of a generation; {@code generation} is the row's lease generation after that claim. */
    public record Lease(String generationId, String workerId, long generation) {
    }

    /** What a fenced write learned: whether this worker still owns the generation, and whether cancel was asked. */
    public record Held(boolean owned, boolean cancelRequested) {
    }

    private static final String RUNNING = JobStatus.RUNNING.wireName();
    private static final String QUEUED = JobStatus.QUEUED.wireName();
    private static final String HELD = "id = ? and worker_id = ? and lease_generation = ? and status = '" + RUNNING
            + "'";

    private final JdbcTemplate jdbc;
    private final Webhooks webhooks;

    public GenerationQueue(JdbcTemplate jdbc, Webhooks webhooks) {
        this.jdbc = jdbc;
        this.webhooks = webhooks;
    }

    /** Takes the oldest queued generation ({@code FOR UPDATE SKIP LOCKED}: claims never wait on each other). */
    @Transactional
    public Optional<Lease> claim(String workerId, String device, Duration lease) {
        List<Lease> claimed = jdbc.query("""
                update generations set status = ?, worker_id = ?, device = ?, attempts = attempts + 1,
                       lease_generation = lease_generation + 1, step = 0,
                       lease_expires_at = now() + ? * interval '1 millisecond',
                       started_at = coalesce(started_at, now())
                where id = (select id from generations where status = ? and not cancel_requested
                            order by seq limit 1 for update skip locked)
                returning id, lease_generation""",
                (rs, i) -> new Lease(rs.getString(1), workerId, rs.getLong(2)), RUNNING, workerId, device,
                lease.toMillis(), QUEUED);
        claimed.forEach(l -> statusChanged(l.generationId(), JobStatus.RUNNING, "claimed by worker " + workerId
                + " on " + device));
        return claimed.stream().findFirst();
    }

    /** Renews the lease; the answer says whether it still holds and whether the client asked to cancel. */
    public Held heartbeat(Lease l, Duration lease) {
        List<Boolean> rows = jdbc.queryForList("update generations set lease_expires_at = now() + ? * interval"
                + " '1 millisecond' where " + HELD + " returning cancel_requested", Boolean.class, lease.toMillis(),
                l.generationId(), l.workerId(), l.generation());
        return rows.isEmpty() ? new Held(false, false) : new Held(true, rows.get(0));
    }

    /**
     * Records progress (denoising steps done over all images) and the peak memory so far; a webhook that asked for
     * {@code progress} hears of it (at most every {@code selectune.webhooks.progress-interval}).
     */
    @Transactional
    public Held progress(Lease l, int step, long peakBytes, String memoryDevice) {
        List<Boolean> rows = jdbc.queryForList("update generations set step = ?, peak_bytes = greatest(coalesce("
                + "peak_bytes, 0), ?), memory_device = ? where " + HELD + " returning cancel_requested",
                Boolean.class, step, peakBytes, memoryDevice, l.generationId(), l.workerId(), l.generation());
        if (rows.isEmpty()) {
            return new Held(false, false);
        }
        webhooks.enqueue(Subject.GENERATION, l.generationId(), WebhookEvent.PROGRESS);
        return new Held(true, rows.get(0));
    }

    /** An event of the worker holding {@code l} (model loaded, image done); false when the lease is lost. */
    @Transactional
    public boolean event(Lease l, EventType type, String message) {
        if (jdbc.queryForList("select 1 from generations where " + HELD + " for no key update", Integer.class,
                l.generationId(), l.workerId(), l.generation()).isEmpty()) {
            return false;
        }
        event(l.generationId(), type, message);
        return true;
    }

    /**
     * Succeeds a running generation and publishes its images (blobs already stored) in one transaction, so the list
     * appears complete with the final status; false, and nothing written, when the lease is lost.
     */
    @Transactional
    public boolean succeed(Lease l, List<GenerationImage> images, String message) {
        if (jdbc.update("update generations set status = ?, step = total_steps, finished_at = now(),"
                + " lease_expires_at = null where " + HELD, JobStatus.SUCCEEDED.wireName(), l.generationId(),
                l.workerId(), l.generation()) == 0) {
            return false;
        }
        for (GenerationImage i : images) {
            jdbc.update("""
                    insert into generation_images (generation_id, position, name, seed, width, height, blob_key,
                                                   content_type, size_bytes, sha256)
                    values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", l.generationId(), i.getPosition(), i.getName(),
                    i.getSeed(), i.getWidth(), i.getHeight(), i.getBlobKey(), i.getContentType(), i.getSizeBytes(),
                    i.getSha256());
        }
        statusChanged(l.generationId(), JobStatus.SUCCEEDED, message);
        return true;
    }

    /** Ends a running generation as {@code failed} or (its worker saw the request) {@code cancelled}. */
    @Transactional
    public boolean end(Lease l, JobStatus status, String error, String message) {
        if (status != JobStatus.FAILED && status != JobStatus.CANCELLED) {
            throw new IllegalArgumentException(status + " is not how a worker ends a generation without images");
        }
        if (jdbc.update("update generations set status = ?, error = ?, finished_at = now(), lease_expires_at = null"
                + " where " + HELD, status.wireName(), error, l.generationId(), l.workerId(), l.generation()) == 0) {
            return false;
        }
        statusChanged(l.generationId(), status, message);
        return true;
    }

    /**
     * Gives a running generation back to the queue without spending an attempt (its worker is shutting down, as
     * {@code JobQueue.release} does for a job), with a {@code released} event; false when the lease is lost. Images
     * are not checkpointed: the next claim makes them all again (from the same seeds) and progress starts at 0.
     */
    @Transactional
    public boolean release(Lease l, String message) {
        if (jdbc.update("update generations set status = ?, worker_id = null, device = null, lease_expires_at = null,"
                + " step = 0, attempts = greatest(attempts - 1, 0) where " + HELD, QUEUED, l.generationId(),
                l.workerId(), l.generation()) == 0) {
            return false;
        }
        statusChanged(l.generationId(), JobStatus.QUEUED, EventType.RELEASED, message);
        return true;
    }

    /** Creates the queued generation's first event, in the transaction that inserted its row. */
    void queued(String id, String message) {
        statusChanged(id, JobStatus.QUEUED, message);
    }

    /** Cancels a queued generation at once; false when it was not queued (any more). */
    @Transactional
    public boolean cancelQueued(String id) {
        if (jdbc.update("update generations set status = ?, cancel_requested = true, finished_at = now()"
                + " where id = ? and status = ?", JobStatus.CANCELLED.wireName(), id, QUEUED) == 0) {
            return false;
        }
        statusChanged(id, JobStatus.CANCELLED, "cancelled while queued");
        return true;
    }

    /** Asks the worker of a running generation to stop; it sees the flag at its next denoising step. */
    @Transactional
    public boolean requestCancel(String id) {
        if (jdbc.update("update generations set cancel_requested = true where id = ? and status = ?", id,
                RUNNING) == 0) {
            return false;
        }
        event(id, EventType.CANCEL_REQUESTED, "cancellation requested; the worker stops at its next step");
        return true;
    }

    /**
     * Requeues running generations whose lease expired (their worker died or hung), or fails them once they used
     * {@code max_attempts}; a generation whose cancel was asked ends {@code cancelled}. Safe on every replica at once.
     */
    @Override
    @Transactional
    public Reaped reapExpired() {
        List<String> failed = jdbc.queryForList("""
                update generations set status = ?, finished_at = now(), lease_expires_at = null,
                       error = 'worker ' || coalesce(worker_id, '?') || ' stopped renewing its lease and the'
                               || ' generation has used all ' || max_attempts || ' attempts'
                where status = ? and lease_expires_at < now() and attempts >= max_attempts and not cancel_requested
                returning id""", String.class, JobStatus.FAILED.wireName(), RUNNING);
        List<String> cancelled = jdbc.queryForList("""
                update generations set status = ?, finished_at = now(), lease_expires_at = null
                where status = ? and lease_expires_at < now() and cancel_requested
                returning id""", String.class, JobStatus.CANCELLED.wireName(), RUNNING);
        List<String> requeued = jdbc.queryForList("""
                update generations set status = ?, worker_id = null, device = null, lease_expires_at = null, step = 0
                where status = ? and lease_expires_at < now() and attempts < max_attempts
                returning id""", String.class, QUEUED, RUNNING);
        failed.forEach(id -> statusChanged(id, JobStatus.FAILED, "lease expired and no attempts are left"));
        cancelled.forEach(id -> statusChanged(id, JobStatus.CANCELLED, "the worker's lease expired after the"
                + " cancellation was asked"));
        requeued.forEach(id -> statusChanged(id, JobStatus.QUEUED, EventType.REQUEUED, "the worker's lease expired;"
                + " the generation goes back to the queue"));
        return new Reaped(requeued, failed);
    }

    @Override
    public SelectuneMetrics.Queue meters() {
        return SelectuneMetrics.Queue.GENERATIONS;
    }

    @Override
    public long queueDepth() {
        Long n = jdbc.queryForObject("select count(*) from generations where status = ?", Long.class, QUEUED);
        return n == null ? 0 : n;
    }

    /** The 1-based queue position of a queued generation. */
    public int queuePosition(long seq) {
        Integer n = jdbc.queryForObject("select count(*) from generations where status = ? and seq < ?",
                Integer.class, QUEUED, seq);
        return (n == null ? 0 : n) + 1;
    }

    private void statusChanged(String id, JobStatus status, String message) {
        statusChanged(id, status, switch (status) {
            case QUEUED -> EventType.QUEUED;
            case RUNNING -> EventType.CLAIMED;
            default -> EventType.finished(status);
        }, message);
    }

    /**
     * The one place where a generation's status is announced, called in the transaction that changed it: writes the
     * event of the new status, of {@code type}.
     */
    private void statusChanged(String id, JobStatus status, EventType type, String message) {
        event(id, type, message);
        if (status == JobStatus.RUNNING) {
            webhooks.enqueue(Subject.GENERATION, id, WebhookEvent.START);
        } else if (status.isTerminal()) {
            webhooks.enqueue(Subject.GENERATION, id, WebhookEvent.COMPLETED);
        }
    }

    /** An event written without a lease (the API, the reaper, inside a claim's or fenced write's transaction). */
    void event(String id, EventType type, String message) {
        jdbc.update("insert into generation_events (generation_id, level, type, message) values (?, ?, ?, ?)", id,
                type.level().wireName(), type.wireName(), message);
    }
}
