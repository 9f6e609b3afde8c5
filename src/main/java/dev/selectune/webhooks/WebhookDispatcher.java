package dev.selectune.webhooks;

import dev.selectune.metrics.SelectuneMetrics;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.context.SmartLifecycle;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;
import org.springframework.transaction.support.TransactionTemplate;

import java.io.IOException;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Sends due deliveries. A claim takes up to {@code senders} due rows with {@code FOR UPDATE SKIP LOCKED}, counts the
 * attempt and moves {@code next_attempt_at} to the end of a lease (longer than both timeouts) in one transaction;
 * only then is anything sent. The outcome is recorded only while the row is still this dispatcher's attempt. A
 * dispatcher that dies after its claim leaves the row due again when the lease ends, and whichever replica claims
 * it next makes the next attempt: a receiver may see a message id twice (as Standard Webhooks allows), never one
 * attempt from two replicas.
 */
@Component
public class WebhookDispatcher implements SmartLifecycle {
    private static final Logger log = LoggerFactory.getLogger(WebhookDispatcher.class);

    /** A claimed attempt. */
    record Claim(String id, int attempt, String tenant, String url, String body, long claimedNanos) {
    }

    private final JdbcTemplate jdbc;
    private final TransactionTemplate tx;
    private final WebhookSettings settings;
    private final TargetPolicy policy;
    private final WebhookSender sender;
    private final WebhookSecrets secrets;
    private final SelectuneMetrics metrics;
    private final String owner;
    private volatile boolean running;
    private Thread loop;
    private ExecutorService pool;

    @Autowired
    public WebhookDispatcher(JdbcTemplate jdbc, TransactionTemplate tx, WebhookSettings settings, TargetPolicy policy,
                             WebhookSender sender, WebhookSecrets secrets, SelectuneMetrics metrics) {
        this(jdbc, tx, settings, policy, sender, secrets, metrics,
                "dispatcher-" + UUID.randomUUID().toString().substring(0, 8));
    }

    WebhookDispatcher(JdbcTemplate jdbc, TransactionTemplate tx, WebhookSettings settings, TargetPolicy policy,
                      WebhookSender sender, WebhookSecrets secrets, SelectuneMetrics metrics, String owner) {
        this.jdbc = jdbc;
        this.tx = tx;
        this.settings = settings;
        this.policy = policy;
        this.sender = sender;
        this.secrets = secrets;
        this.metrics = metrics;
        this.owner = owner;
    }

    /**
     * Claims up to {@code max} due deliveries for this dispatcher (one transaction). An attempt of an earlier claim
     * that never reported (its dispatcher died) is marked so in the log.
     */
    List<Claim> claim(int max) {
        return tx.execute(status -> {
            List<Claim> claims = jdbc.query("""
                    update webhook_deliveries set attempts = attempts + 1, claimed_by = ?,
                           next_attempt_at = now() + ? * interval '1 millisecond'
                    where id in (select id from webhook_deliveries where status = 'pending' and next_attempt_at <= now()
                                 order by next_attempt_at limit ? for update skip locked)
                    returning id, attempts, tenant, url, body""", (rs, i) -> new Claim(rs.getString("id"),
                    rs.getInt("attempts"), rs.getString("tenant"), rs.getString("url"), rs.getString("body"),
                    System.nanoTime()), owner, settings.lease().toMillis(), max);
            for (Claim c : claims) {
                jdbc.update("update webhook_attempts set finished_at = now(), error = 'no outcome: the dispatcher"
                        + " stopped before reporting, and its lease ended' where delivery_id = ? and finished_at is null",
                        c.id());
                jdbc.update("insert into webhook_attempts (delivery_id, attempt, dispatcher) values (?, ?, ?)",
                        c.id(), c.attempt(), owner);
            }
            return claims;
        });
    }

    /** One round: claims what is due (up to {@code senders}) and sends it in parallel; returns how many. */
    public int runOnce() throws InterruptedException {
        List<Claim> claims = claim(settings.senders());
        if (claims.isEmpty()) {
            return 0;
        }
        List<Callable<Void>> sends = new ArrayList<>();
        for (Claim c : claims) {
            sends.add(() -> {
                deliver(c);
                return null;
            });
        }
        ExecutorService p = pool;
        if (p == null) {
            for (Callable<Void> s : sends) {
                try {
                    s.call();
                } catch (Exception e) {
                    log.warn("webhook delivery failed unexpectedly", e);
                }
            }
        } else {
            p.invokeAll(sends);
        }
        return claims.size();
    }

    /** Sends one claimed attempt and records its outcome. */
    void deliver(Claim c) {
        Duration bothTimeouts = settings.connectTimeout().plus(settings.readTimeout());
        Duration held = Duration.ofNanos(System.nanoTime() - c.claimedNanos());
        if (held.plus(bothTimeouts).compareTo(settings.lease()) >= 0) {
            // Too late to finish inside the lease: leave it to the next claim rather than race it.
            log.warn("webhook {} attempt {} not sent: its lease is nearly over", c.id(), c.attempt());
            return;
        }
        int code = 0;
        String error;
        boolean permanent = false;
        try {
            TargetPolicy.Target target = policy.resolve(c.url());
            long timestamp = Instant.now().getEpochSecond();
            Map<String, String> headers = new LinkedHashMap<>();
            headers.put("webhook-id", c.id());
            headers.put("webhook-timestamp", Long.toString(timestamp));
            headers.put("webhook-signature", Signatures.header(secrets.signingKeys(c.tenant()), c.id(), timestamp,
                    c.body()));
            code = sender.post(target, headers, c.body().getBytes(StandardCharsets.UTF_8));
            error = code >= 200 && code < 300 ? null : "the receiver answered " + code;
        } catch (TargetPolicy.Refused e) {
            error = "refused: " + e.getMessage();
            permanent = true;
        } catch (SocketTimeoutException e) {
            error = "timed out: " + e.getMessage();
        } catch (IOException e) {
            error = e.getClass().getSimpleName() + ": " + e.getMessage();
        }
        String outcome = record(c, code == 0 ? null : code, error, permanent);
        if (outcome != null) {
            metrics.webhookDelivery(outcome);
        }
    }

    /** Stores the attempt's outcome if the delivery is still this attempt's; returns delivered, retrying or failed. */
    private String record(Claim c, Integer code, String error, boolean permanent) {
        long delay = delayMillis(c.attempt());
        List<String> status = tx.execute(s -> {
            List<String> st = error == null
                    ? jdbc.queryForList("""
                            update webhook_deliveries set status = 'delivered', finished_at = now(), claimed_by = null,
                                   next_attempt_at = null, last_status_code = ?, last_error = null
                            where id = ? and attempts = ? and claimed_by = ? and status = 'pending'
                            returning status""", String.class, code, c.id(), c.attempt(), owner)
                    : jdbc.queryForList("""
                            update webhook_deliveries set
                                   status = case when ? or now() >= created_at + ? * interval '1 millisecond'
                                                 then 'failed' else 'pending' end,
                                   next_attempt_at = case when ? or now() >= created_at + ? * interval '1 millisecond'
                                       then null else least(now() + ? * interval '1 millisecond',
                                                            created_at + ? * interval '1 millisecond') end,
                                   finished_at = case when ? or now() >= created_at + ? * interval '1 millisecond'
                                                      then now() end,
                                   claimed_by = null, last_status_code = ?, last_error = ?
                            where id = ? and attempts = ? and claimed_by = ? and status = 'pending'
                            returning status""", String.class, permanent, retryFor(), permanent, retryFor(), delay,
                            retryFor(), permanent, retryFor(), code, error, c.id(), c.attempt(), owner);
            jdbc.update("update webhook_attempts set finished_at = now(), status_code = ?, error = ?"
                    + " where delivery_id = ? and attempt = ?", code, error, c.id(), c.attempt());
            return st;
        });
        if (status == null || status.isEmpty()) {
            log.warn("webhook {} attempt {}: outcome not recorded, the delivery was taken over", c.id(), c.attempt());
            return null;
        }
        String st = status.get(0);
        if (error != null) {
            log.info("webhook {} attempt {} to {} failed ({}); {}", c.id(), c.attempt(), c.url(), error,
                    st.equals("failed") ? "giving up" : "will retry");
        }
        return st.equals("pending") ? "retrying" : st;
    }

    private long retryFor() {
        return settings.retryFor().toMillis();
    }

    /**
     * The wait after the {@code attempt}-th attempt failed: {@code retry-base} times 3^(attempt-1), at most
     * {@code retry-max-delay}, times a random factor in [0.75, 1.25) so that receivers coming back after an outage
     * are not hit by every delivery at once.
     */
    long delayMillis(int attempt) {
        double base = settings.retryBase().toMillis() * Math.pow(3, Math.max(0, attempt - 1));
        double capped = Math.min(base, settings.retryMaxDelay().toMillis());
        return (long) (capped * (0.75 + 0.5 * ThreadLocalRandom.current().nextDouble()));
    }

    @Override
    public synchronized void start() {
        running = true;
        if (!settings.dispatch()) {
            log.info("selectune.webhooks.dispatch=false: this replica sends no webhooks");
            return;
        }
        pool = Executors.newFixedThreadPool(settings.senders(), r -> {
            Thread t = new Thread(r, "selectune-webhook-sender");
            t.setDaemon(true);
            return t;
        });
        loop = new Thread(this::loop, "selectune-webhooks");
        loop.setDaemon(true);
        loop.start();
    }

    private void loop() {
        while (running) {
            try {
                if (runOnce() < settings.senders()) {
                    Thread.sleep(settings.poll().toMillis());
                }
            } catch (InterruptedException e) {
                return;
            } catch (RuntimeException e) {
                log.warn("webhook dispatch failed: {}", e.toString());
                try {
                    Thread.sleep(settings.poll().toMillis());
                } catch (InterruptedException ie) {
                    return;
                }
            }
        }
    }

    @Override
    public synchronized void stop() {
        running = false;
        if (loop != null) {
            loop.interrupt();
            loop = null;
        }
        if (pool != null) {
            // Attempts in flight are abandoned; their lease ends and the next claim (here after a restart, or on
            // another replica) makes the next attempt.
            pool.shutdownNow();
            pool = null;
        }
    }

    @Override
    public boolean isRunning() {
        return running;
    }
}
