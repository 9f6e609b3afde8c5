package dev.selectune.webhooks;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.metrics.SelectuneMetrics;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.transaction.support.TransactionTemplate;

import java.net.InetAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The dispatcher against an in-process receiver on 127.0.0.1: signatures, retries after errors and timeouts, a
 * dispatcher that dies between its claim and the send, two dispatchers racing, refused targets, giving up. Rows are
 * written straight into the outbox (the job path is WebhookApiTest's).
 */
class WebhookDispatcherTest extends ServiceTestBase {
    @Autowired
    WebhookDispatcher dispatcher;
    @Autowired
    TransactionTemplate tx;
    @Autowired
    WebhookSettings settings;
    @Autowired
    TargetPolicy policy;
    @Autowired
    WebhookSender sender;
    @Autowired
    WebhookSecrets secrets;
    @Autowired
    SelectuneMetrics metrics;
    @Autowired
    io.micrometer.core.instrument.MeterRegistry registry;

    @BeforeEach
    @AfterEach
    void noDeliveriesLeftOver() {
        jdbc.update("update webhook_deliveries set status = 'failed' where status = 'pending'");
        if (!dispatcher.isRunning()) {
            dispatcher.start();
        }
    }

    private String insert(String url) {
        // A delivery's subject must exist (it cascades with it): one finished job stands for every subject here.
        jdbc.update("insert into image_sets (id, tenant, image_count, total_bytes) values ('imgset_test', 'acme', 0, 0)"
                + " on conflict do nothing");
        jdbc.update("""
                insert into jobs (id, tenant, image_set_id, base_model, spec, status, max_attempts, total_steps,
                                  finished_at)
                values ('job_test', 'acme', 'imgset_test', 'tiny-sd15', '{}', 'succeeded', 1, 1, now())
                on conflict do nothing""");
        String id = "msg_test" + dev.selectune.config.Ids.random(16);
        jdbc.update("""
                insert into webhook_deliveries (id, kind, subject_id, tenant, event, url, body, next_attempt_at)
                values (?, 'job', 'job_test', 'acme', 'completed', ?, ?, now())""", id, url,
                "{\"id\":\"job_test\",\"object\":\"job\",\"delivery\":\"" + id + "\"}");
        return id;
    }

    private Map<String, Object> awaitDelivery(String id, String status, Duration timeout) throws InterruptedException {
        await(() -> status.equals(jdbc.queryForObject("select status from webhook_deliveries where id = ?",
                String.class, id)), timeout);
        return jdbc.queryForMap("select * from webhook_deliveries where id = ?", id);
    }

    private List<Map<String, Object>> attempts(String id) {
        return jdbc.queryForList("select * from webhook_attempts where delivery_id = ? order by attempt", id);
    }

    private WebhookDispatcher replica(String owner, WebhookSettings s, TargetPolicy p) {
        return new WebhookDispatcher(jdbc, tx, s, p, sender, secrets, metrics, owner);
    }

    private double count(String outcome) {
        return registry.get("selectune.webhook.deliveries").tag("outcome", outcome).counter().count();
    }

    @Test
    void deliversTheBodySignedWithTheTenantsSecret() throws Exception {
        try (Receiver receiver = new Receiver()) {
            double delivered = count("delivered");
            String id = insert(receiver.url("/hook"));
            awaitDelivery(id, "delivered", Duration.ofSeconds(10));
            Receiver.Request r = receiver.requests.get(0);
            assertThat(r.header("webhook-id")).isEqualTo(id);
            assertThat(Long.parseLong(r.header("webhook-timestamp")))
                    .isBetween(Instant.now().getEpochSecond() - 30, Instant.now().getEpochSecond() + 1);
            assertThat(r.body()).isEqualTo(jdbc.queryForObject("select body from webhook_deliveries where id = ?",
                    String.class, id));
            assertThat(Receiver.verifies(r, secrets.current("acme"))).isTrue();
            assertThat(Receiver.verifies(r, Signatures.newSecret())).isFalse();
            assertThat(attempts(id)).singleElement().satisfies(a -> assertThat(a.get("status_code")).isEqualTo(200));
            assertThat(count("delivered")).isEqualTo(delivered + 1);
        }
    }

    @Test
    void retriesAfterServerErrorsWithGrowingDelays() throws Exception {
        try (Receiver receiver = new Receiver().answer(Receiver.Answer.of(500), Receiver.Answer.of(503))) {
            double retrying = count("retrying");
            String id = insert(receiver.url("/flaky"));
            Map<String, Object> row = awaitDelivery(id, "delivered", Duration.ofSeconds(15));
            assertThat(row.get("attempts")).isEqualTo(3);
            assertThat(receiver.requests).hasSize(3).allSatisfy(r -> assertThat(r.header("webhook-id")).isEqualTo(id));
            assertThat(attempts(id)).extracting(a -> a.get("status_code")).containsExactly(500, 503, 200);
            // retry-base 0.2 s, then 0.6 s, each with jitter in [0.75, 1.25).
            assertThat(Duration.between(receiver.requests.get(0).at(), receiver.requests.get(1).at()))
                    .isGreaterThanOrEqualTo(Duration.ofMillis(140));
            assertThat(Duration.between(receiver.requests.get(1).at(), receiver.requests.get(2).at()))
                    .isGreaterThanOrEqualTo(Duration.ofMillis(440));
            assertThat(count("retrying")).isEqualTo(retrying + 2);
        }
    }

    @Test
    void retriesAfterATimeout() throws Exception {
        try (Receiver receiver = new Receiver().answer(new Receiver.Answer(200, Duration.ofMillis(2500)))) {
            String id = insert(receiver.url("/slow"));
            Map<String, Object> row = awaitDelivery(id, "delivered", Duration.ofSeconds(15));
            assertThat(row.get("attempts")).isEqualTo(2);
            List<Map<String, Object>> log = attempts(id);
            assertThat((String) log.get(0).get("error")).contains("timed out");
            assertThat(log.get(0).get("status_code")).isNull();
            assertThat(log.get(1).get("status_code")).isEqualTo(200);
        }
    }

    @Test
    void aDispatcherKilledBetweenItsClaimAndTheSendStillGetsTheDeliveryMade() throws Exception {
        try (Receiver receiver = new Receiver()) {
            dispatcher.stop();
            String id = insert(receiver.url("/after-crash"));
            // Replica A claims the delivery (its transaction commits) and dies before sending anything.
            List<WebhookDispatcher.Claim> claimed = replica("replica-a", settings, policy).claim(10);
            Instant claimedAt = Instant.now();
            assertThat(claimed).extracting(WebhookDispatcher.Claim::id).containsExactly(id);
            // The other replica (this context's dispatcher) runs on and takes it over once A's lease ends.
            dispatcher.start();
            Map<String, Object> row = awaitDelivery(id, "delivered", settings.lease().plusSeconds(10));
            assertThat(receiver.requests).hasSize(1);
            assertThat(receiver.requests.get(0).at()).isAfter(claimedAt.plus(settings.lease()).minusMillis(500));
            assertThat(row.get("attempts")).isEqualTo(2);
            List<Map<String, Object>> log = attempts(id);
            assertThat(log.get(0).get("dispatcher")).isEqualTo("replica-a");
            assertThat((String) log.get(0).get("error")).contains("no outcome");
            assertThat(log.get(1).get("dispatcher")).isNotEqualTo("replica-a");
            assertThat(log.get(1).get("status_code")).isEqualTo(200);
        }
    }

    @Test
    void twoDispatchersNeverSendTheSameAttempt() throws Exception {
        try (Receiver receiver = new Receiver()) {
            dispatcher.stop();
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < 40; i++) {
                ids.add(insert(receiver.url("/race")));
            }
            ExecutorService two = Executors.newFixedThreadPool(2);
            try {
                List<Future<Integer>> runs = new ArrayList<>();
                for (String owner : List.of("replica-a", "replica-b")) {
                    WebhookDispatcher d = replica(owner, settings, policy);
                    runs.add(two.submit(() -> {
                        int sent = 0;
                        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                        while (System.nanoTime() < deadline && pending(ids) > 0) {
                            sent += d.runOnce();
                        }
                        return sent;
                    }));
                }
                int total = runs.get(0).get() + runs.get(1).get();
                assertThat(total).isEqualTo(40);
            } finally {
                two.shutdownNow();
            }
            Set<String> seen = new HashSet<>();
            for (Receiver.Request r : receiver.requests) {
                assertThat(seen.add(r.header("webhook-id"))).as("sent twice: " + r.header("webhook-id")).isTrue();
            }
            assertThat(seen).containsExactlyInAnyOrderElementsOf(ids);
            assertThat(jdbc.queryForObject("select count(*) from webhook_deliveries where id = any(?)"
                    + " and status = 'delivered' and attempts = 1", Long.class, (Object) ids.toArray(String[]::new)))
                    .isEqualTo(40);
        }
    }

    private long pending(List<String> ids) {
        return jdbc.queryForObject("select count(*) from webhook_deliveries where id = any(?) and status = 'pending'",
                Long.class, (Object) ids.toArray(String[]::new));
    }

    @Test
    void aTargetResolvingToAPrivateAddressIsRefusedAndNotRetried() throws Exception {
        try (Receiver receiver = new Receiver()) {
            dispatcher.stop();
            // A name that passed the check at creation and now resolves to loopback (DNS rebinding).
            TargetPolicy secure = new TargetPolicy(false, host -> new InetAddress[] {InetAddress.getLoopbackAddress()});
            String id = insert("https://hooks.example.com:" + receiver.port() + "/hook");
            assertThat(replica("replica-a", settings, secure).runOnce()).isEqualTo(1);
            Map<String, Object> row = jdbc.queryForMap("select * from webhook_deliveries where id = ?", id);
            assertThat(row.get("status")).isEqualTo("failed");
            assertThat((String) row.get("last_error")).contains("127.0.0.1");
            assertThat(receiver.requests).isEmpty();
        }
    }

    @Test
    void retriesUntilRetryForThenMakesALastAttemptAndGivesUp() throws Exception {
        try (Receiver receiver = new Receiver()) {
            dispatcher.stop();
            WebhookSettings brief = new WebhookSettings(true, false, null, Duration.ofMillis(50), 1,
                    settings.connectTimeout(), settings.readTimeout(), settings.lease(), Duration.ofMillis(100),
                    Duration.ofMillis(400), Duration.ofSeconds(2), 0, null);
            receiver.answer(Receiver.Answer.of(500), Receiver.Answer.of(500), Receiver.Answer.of(500),
                    Receiver.Answer.of(500), Receiver.Answer.of(500), Receiver.Answer.of(500),
                    Receiver.Answer.of(500), Receiver.Answer.of(500), Receiver.Answer.of(500),
                    Receiver.Answer.of(500), Receiver.Answer.of(500), Receiver.Answer.of(500));
            String id = insert(receiver.url("/down"));
            WebhookDispatcher d = replica("replica-a", brief, policy);
            long deadline = System.nanoTime() + Duration.ofSeconds(15).toNanos();
            while (System.nanoTime() < deadline && pending(List.of(id)) > 0) {
                d.runOnce();
                Thread.sleep(20);
            }
            Map<String, Object> row = jdbc.queryForMap("select * from webhook_deliveries where id = ?", id);
            assertThat(row.get("status")).isEqualTo("failed");
            assertThat((int) row.get("attempts")).isGreaterThanOrEqualTo(4);
            Instant created = ((java.sql.Timestamp) row.get("created_at")).toInstant();
            // The last attempt comes at the end of retry-for, not before it.
            assertThat(receiver.requests.get(receiver.requests.size() - 1).at())
                    .isAfterOrEqualTo(created.plus(Duration.ofMillis(1900)));
        }
    }

    @Test
    void backoffIsExponentialWithJitterAndCapped() {
        WebhookDispatcher d = replica("unit", WebhookSettings.defaults(), policy);
        for (int i = 0; i < 50; i++) {
            assertThat(d.delayMillis(1)).isBetween(3_750L, 6_250L);
            assertThat(d.delayMillis(2)).isBetween(11_250L, 18_750L);
            assertThat(d.delayMillis(4)).isBetween(101_250L, 168_750L);
            assertThat(d.delayMillis(20)).isBetween(Duration.ofHours(3).toMillis(), Duration.ofHours(5).toMillis());
        }
        assertThat(WebhookSettings.defaults().retryFor()).isGreaterThanOrEqualTo(Duration.ofHours(24));
    }
}
