package dev.selectune.webhooks;

import dev.selectune.util.Problem;
import dev.selectune.config.Ids;
import org.springframework.beans.factory.ObjectProvider;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.annotation.Propagation;
import org.springframework.transaction.annotation.Transactional;

import java.nio.charset.StandardCharsets;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Timestamp;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.stream.Collectors;

/**
 * The outbox: a subject's webhook target ({@link #register}), the deliveries its state changes write
 * ({@link #enqueue}, inside the change's own transaction) and their log ({@link #deliveries}). See package-info.
 */
@Component
public class Webhooks {
    private final JdbcTemplate jdbc;
    private final WebhookSettings settings;
    private final TargetPolicy policy;
    private final ObjectProvider<WebhookBodies> bodies;

    public Webhooks(JdbcTemplate jdbc, WebhookSettings settings, TargetPolicy policy,
                    ObjectProvider<WebhookBodies> bodies) {
        this.jdbc = jdbc;
        this.settings = settings;
        this.policy = policy;
        this.bodies = bodies;
    }

    /** What is wrong with a subject's webhook request, as {@code "field: message"} (empty for none or null). */
    public List<Problem> problems(WebhookRequest request) {
        return request == null ? List.of() : request.problems(policy);
    }

    /** Records the subject's target (a checked request; null for none), in the transaction that creates it. */
    @Transactional(propagation = Propagation.MANDATORY)
    public void register(Subject subject, String subjectId, String tenant, WebhookRequest request) {
        if (request == null) {
            return;
        }
        jdbc.update("insert into webhook_targets (kind, subject_id, tenant, url, events) values (?, ?, ?, ?, ?)",
                subject.wireName(), subjectId, tenant, request.url(),
                request.events().stream().map(WebhookEvent::wireName).collect(Collectors.joining(",")));
    }

    /**
     * Writes the delivery of {@code event} for the subject, when it has a target whose filter takes the event:
     * {@code start} once, {@code progress} at most every {@code progress-interval}, {@code completed} always. Must
     * run inside the transaction that makes the change (refused otherwise), so the delivery commits with it or not
     * at all; the body is rendered there by {@link WebhookBodies}.
     */
    @Transactional(propagation = Propagation.MANDATORY)
    public void enqueue(Subject subject, String subjectId, WebhookEvent event) {
        // The row lock orders concurrent changes of one subject (two progress steps never both pass the throttle).
        List<Map<String, Object>> targets = jdbc.queryForList("""
                select tenant, url, events, start_sent,
                       last_progress_at is null
                       or last_progress_at <= now() - ? * interval '1 millisecond' as progress_due
                from webhook_targets where kind = ? and subject_id = ? for update""",
                settings.progressInterval().toMillis(), subject.wireName(), subjectId);
        if (targets.isEmpty()) {
            return;
        }
        Map<String, Object> target = targets.get(0);
        if (!Arrays.asList(((String) target.get("events")).split(",")).contains(event.wireName())) {
            return;
        }
        switch (event) {
            case START -> {
                if ((Boolean) target.get("start_sent")) {
                    return;
                }
                jdbc.update("update webhook_targets set start_sent = true where kind = ? and subject_id = ?",
                        subject.wireName(), subjectId);
            }
            case PROGRESS -> {
                if (!(Boolean) target.get("progress_due")) {
                    return;
                }
                jdbc.update("update webhook_targets set last_progress_at = now() where kind = ? and subject_id = ?",
                        subject.wireName(), subjectId);
            }
            case COMPLETED -> {
            }
        }
        String body = bodies.getObject().body(subject, subjectId);
        int size = body.getBytes(StandardCharsets.UTF_8).length;
        boolean tooLarge = size > settings.maxBodyBytes();
        jdbc.update("""
                insert into webhook_deliveries (id, kind, subject_id, tenant, event, url, body, status,
                                                next_attempt_at, last_error, finished_at)
                values (?, ?, ?, ?, ?, ?, ?, ?, case when ? then null else now() end, ?,
                        case when ? then now() end)""",
                "msg_" + Ids.random(24), subject.wireName(), subjectId, target.get("tenant"), event.wireName(),
                target.get("url"), body, tooLarge ? "failed" : "pending", tooLarge,
                tooLarge ? "the body of " + size + " bytes is over selectune.webhooks.max-body-bytes ("
                        + settings.maxBodyBytes() + "); not sent" : null, tooLarge);
    }

    /**
     * Deletes up to {@code limit} delivered or failed deliveries (their attempts go with them) that finished before
     * {@code finishedBefore}, oldest first; returns how many. Pending ones are kept whatever their age: they end
     * within {@code selectune.webhooks.retry-for}. Deliveries of a deleted subject need no call: they go with it.
     */
    public int deleteFinishedDeliveries(Instant finishedBefore, int limit) {
        return jdbc.update("""
                delete from webhook_deliveries where id in (
                    select id from webhook_deliveries where status <> 'pending' and finished_at < ?
                    order by finished_at limit ?)""", Timestamp.from(finishedBefore), limit);
    }

    /** One attempt of a delivery; {@code statusCode} and {@code error} are null while it is in flight. */
    public record Attempt(int attempt, String dispatcher, Instant startedAt, Instant finishedAt, Integer statusCode,
                          String error) {
    }

    /** A delivery: {@code status} pending (with {@code nextAttemptAt}), delivered or failed (given up). */
    public record Delivery(String id, String event, String url, String status, int attempts, Instant nextAttemptAt,
                           Integer lastStatusCode, String lastError, Instant createdAt, Instant finishedAt,
                           List<Attempt> log) {
    }

    /** A page of a subject's deliveries, oldest first. */
    public record Page(List<Delivery> items, boolean hasMore) {
    }

    /**
     * The tenant's deliveries for a subject after the delivery {@code afterId} (null: from the first), or empty when
     * {@code afterId} is not one of them. The caller checks the subject is the tenant's.
     */
    public Optional<Page> deliveries(Subject subject, String subjectId, String tenant, String afterId, int limit) {
        long after = 0;
        if (afterId != null) {
            List<Long> seq = jdbc.queryForList("select seq from webhook_deliveries where id = ? and kind = ?"
                    + " and subject_id = ? and tenant = ?", Long.class, afterId, subject.wireName(), subjectId, tenant);
            if (seq.isEmpty()) {
                return Optional.empty();
            }
            after = seq.get(0);
        }
        List<Delivery> rows = jdbc.query("""
                select id, event, url, status, attempts, next_attempt_at, last_status_code, last_error, created_at,
                       finished_at
                from webhook_deliveries where kind = ? and subject_id = ? and tenant = ? and seq > ?
                order by seq limit ?""", (rs, i) -> new Delivery(rs.getString("id"), rs.getString("event"),
                        rs.getString("url"), rs.getString("status"), rs.getInt("attempts"),
                        instant(rs, "next_attempt_at"), (Integer) rs.getObject("last_status_code"),
                        rs.getString("last_error"), instant(rs, "created_at"), instant(rs, "finished_at"), null),
                subject.wireName(), subjectId, tenant, after, limit + 1);
        boolean more = rows.size() > limit;
        List<Delivery> shown = more ? rows.subList(0, limit) : rows;
        Map<String, List<Attempt>> log = attempts(shown.stream().map(Delivery::id).toList());
        List<Delivery> page = shown.stream().map(d -> new Delivery(d.id(), d.event(), d.url(), d.status(),
                d.attempts(), d.nextAttemptAt(), d.lastStatusCode(), d.lastError(), d.createdAt(), d.finishedAt(),
                log.getOrDefault(d.id(), List.of()))).toList();
        return Optional.of(new Page(page, more));
    }

    /** The attempts of a page of deliveries, in one query. */
    private Map<String, List<Attempt>> attempts(List<String> deliveryIds) {
        Map<String, List<Attempt>> log = new HashMap<>();
        jdbc.query("""
                select delivery_id, attempt, dispatcher, started_at, finished_at, status_code, error
                from webhook_attempts where delivery_id = any(?) order by delivery_id, attempt""", rs -> {
                    log.computeIfAbsent(rs.getString("delivery_id"), k -> new ArrayList<>()).add(new Attempt(
                            rs.getInt("attempt"), rs.getString("dispatcher"), instant(rs, "started_at"),
                            instant(rs, "finished_at"), (Integer) rs.getObject("status_code"), rs.getString("error")));
                }, (Object) deliveryIds.toArray(String[]::new));
        return log;
    }

    static Instant instant(ResultSet rs, String column) throws SQLException {
        Timestamp t = rs.getTimestamp(column);
        return t == null ? null : t.toInstant();
    }
}
