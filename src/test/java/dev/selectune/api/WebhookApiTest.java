package dev.selectune.api;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.webhooks.Receiver;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookBodies;
import dev.selectune.webhooks.WebhookEvent;
import dev.selectune.webhooks.Webhooks;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.transaction.IllegalTransactionStateException;
import org.springframework.transaction.support.TransactionTemplate;
import org.springframework.test.web.servlet.MvcResult;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.hamcrest.Matchers.hasItem;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * Webhooks through the API: the job spec's {@code webhook} fields (validation, storage, echo), the signing secret
 * and its rotation, the outbox written in the state change's transaction, the delivery log and its tenant isolation,
 * and a real training job calling back start, progress and completed. A receiver on 127.0.0.1 (allowed by the
 * tests' {@code selectune.webhooks.allow-insecure-targets=true}) records every call.
 */
class WebhookApiTest extends ServiceTestBase {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);
    private final JsonMapper json = JsonMapper.builder().build();

    @Autowired
    Webhooks webhooks;
    @Autowired
    TransactionTemplate tx;
    @Autowired
    WebhookBodies bodies;

    @AfterEach
    void noDeliveriesLeftOver() {
        jdbc.update("update webhook_deliveries set status = 'failed' where status = 'pending'");
    }

    private String imageSet() throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/image-sets").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                .header("Authorization", ACME)).andExpect(status().isCreated()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private JsonNode createJob(String webhookFields) throws Exception {
        MvcResult r = mvc.perform(post("/v1/jobs").header("Authorization", ACME).contentType(MediaType.APPLICATION_JSON)
                        .content(ApiRequestsTest.spec("\"image_set_id\": \"" + imageSet() + "\", " + webhookFields)))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi()).andReturn();
        return json.readTree(r.getResponse().getContentAsString());
    }

    private String secret() throws Exception {
        MvcResult r = mvc.perform(get("/v1/webhooks/default/secret").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.key");
    }

    private long deliveries(String jobId) {
        return jdbc.queryForObject("select count(*) from webhook_deliveries where subject_id = ?", Long.class, jobId);
    }

    @Test
    void theJobStoresAndShowsItsWebhookWithTheDefaultFilterSpelledOut() throws Exception {
        try (Receiver receiver = new Receiver()) {
            JsonNode job = createJob("\"webhook\": \"" + receiver.url("/hook") + "\"");
            assertThat(job.at("/spec/webhook").asString()).isEqualTo(receiver.url("/hook"));
            assertThat(job.at("/spec/webhook_events_filter").toString())
                    .isEqualTo("[\"start\",\"progress\",\"completed\"]");
            mvc.perform(get("/v1/jobs/" + job.get("id").asString()).header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi())
                    .andExpect(jsonPath("$.spec.webhook_events_filter[2]").value("completed"));
            assertThat(jdbc.queryForObject("select events from webhook_targets where subject_id = ?", String.class,
                    job.get("id").asString())).isEqualTo("start,progress,completed");
        }
    }

    /**
     * The one {@link WebhookBodies} renders every subject kind exactly as {@code GET} on it answers (here a queued
     * job and a queued generation), and a subject that is gone is an error naming it.
     */
    @Test
    void everySubjectsWebhookBodyIsItsGetResponse() throws Exception {
        String job = json.readTree(mvc.perform(post("/v1/jobs").header("Authorization", ACME)
                        .contentType(MediaType.APPLICATION_JSON)
                        .content(ApiRequestsTest.spec("\"image_set_id\": \"" + imageSet() + "\"")))
                .andExpect(status().isCreated()).andReturn().getResponse().getContentAsString()).get("id").asString();
        String generation = json.readTree(mvc.perform(post("/v1/generations").header("Authorization", ACME)
                        .contentType(MediaType.APPLICATION_JSON).content("""
                                {"base_model": "tiny-sd15", "prompt": "a photo of a dog", "n": 1, "width": 32,
                                 "height": 24, "steps": 2, "seed": 3}"""))
                .andExpect(status().isCreated()).andReturn().getResponse().getContentAsString()).get("id").asString();
        Map<Subject, String> paths = Map.of(Subject.JOB, "/v1/jobs/" + job,
                Subject.GENERATION, "/v1/generations/" + generation);
        for (Subject subject : Subject.values()) {
            String path = paths.get(subject);
            assertThat(path).as("a %s to render", subject).isNotNull();
            JsonNode got = json.readTree(mvc.perform(get(path).header("Authorization", ACME))
                    .andExpect(status().isOk()).andReturn().getResponse().getContentAsString());
            String id = path.substring(path.lastIndexOf('/') + 1);
            assertThat(json.readTree(bodies.body(subject, id))).as(subject.wireName()).isEqualTo(got);
            assertThatThrownBy(() -> bodies.body(subject, id + "_gone")).isInstanceOf(IllegalStateException.class)
                    .hasMessage(subject.wireName() + " " + id + "_gone is gone");
        }
    }

    @Test
    void badWebhookFieldsAreProblemsNamingTheFieldAndStoreNothing() throws Exception {
        String set = imageSet();
        long jobs = jdbc.queryForObject("select count(*) from jobs", Long.class);
        refused(set, "\"webhook\": \"ftp://example.com/x\"", 422, "webhook");
        refused(set, "\"webhook\": \"not a url\"", 422, "webhook");
        refused(set, "\"webhook\": \"https://example.com/x\", \"webhook_events_filter\": [\"start\", \"bogus\"]",
                422, "webhook_events_filter[1]");
        refused(set, "\"webhook\": \"https://example.com/x\", \"webhook_events_filter\": [\"start\", \"start\"]",
                422, "webhook_events_filter[1]");
        refused(set, "\"webhook\": \"https://example.com/x\", \"webhook_events_filter\": []", 422,
                "webhook_events_filter");
        refused(set, "\"webhook_events_filter\": [\"completed\"]", 422, "webhook");
        refused(set, "\"webhook\": 5", 422, "webhook");
        refused(set, "\"webhook\": \"https://example.com/x\", \"webhook_events_filter\": \"start\"", 422,
                "webhook_events_filter");
        assertThat(jdbc.queryForObject("select count(*) from jobs", Long.class)).isEqualTo(jobs);
    }

    private void refused(String set, String fields, int status, String field) throws Exception {
        mvc.perform(post("/v1/jobs").header("Authorization", ACME).contentType(MediaType.APPLICATION_JSON)
                        .content(ApiRequestsTest.spec("\"image_set_id\": \"" + set + "\", " + fields)))
                .andExpect(status().is(status)).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[*].field", hasItem(field)));
    }

    @Test
    void cancellingAQueuedJobCallsBackCompletedSignedAndLogged() throws Exception {
        try (Receiver receiver = new Receiver()) {
            String id = createJob("\"webhook\": \"" + receiver.url("/done") + "\","
                    + " \"webhook_events_filter\": [\"completed\"]").get("id").asString();
            mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME)).andExpect(status().isOk());
            await(() -> receiver.requests.size() == 1, Duration.ofSeconds(10));
            Receiver.Request r = receiver.requests.get(0);
            JsonNode body = json.readTree(r.body());
            assertThat(body.get("id").asString()).isEqualTo(id);
            assertThat(body.get("object").asString()).isEqualTo("job");
            assertThat(body.get("status").asString()).isEqualTo("cancelled");
            assertThat(Receiver.verifies(r, secret())).isTrue();
            await(() -> "delivered".equals(jdbc.queryForObject("select status from webhook_deliveries"
                    + " where subject_id = ?", String.class, id)), Duration.ofSeconds(5));
            mvc.perform(get("/v1/jobs/" + id + "/webhook-deliveries").header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi())
                    .andExpect(jsonPath("$.data.length()").value(1))
                    .andExpect(jsonPath("$.data[0].id").value(r.header("webhook-id")))
                    .andExpect(jsonPath("$.data[0].event").value("completed"))
                    .andExpect(jsonPath("$.data[0].status").value("delivered"))
                    .andExpect(jsonPath("$.data[0].attempts").value(1))
                    .andExpect(jsonPath("$.data[0].attempt_log[0].status_code").value(200));
            mvc.perform(get("/v1/jobs/" + id + "/webhook-deliveries").header("Authorization", GLOBEX))
                    .andExpect(status().isNotFound()).andExpect(matchesOpenApi());
            mvc.perform(get("/v1/jobs/" + id + "/webhook-deliveries?after=msg_nope").header("Authorization", ACME))
                    .andExpect(status().isBadRequest()).andExpect(matchesOpenApi())
                    .andExpect(jsonPath("$.errors[0].field").value("after"));
        }
    }

    @Test
    void theOutboxRowCommitsWithTheStateChangeOrNotAtAll() throws Exception {
        try (Receiver receiver = new Receiver()) {
            String id = createJob("\"webhook\": \"" + receiver.url("/tx") + "\"").get("id").asString();
            tx.executeWithoutResult(s -> {
                webhooks.enqueue(Subject.JOB, id, WebhookEvent.COMPLETED);
                s.setRollbackOnly();
            });
            assertThat(deliveries(id)).isZero();
            assertThatThrownBy(() -> webhooks.enqueue(Subject.JOB, id, WebhookEvent.COMPLETED))
                    .isInstanceOf(IllegalTransactionStateException.class);
            assertThat(deliveries(id)).isZero();
        }
    }

    @Test
    void startIsSentOnceProgressIsThrottledAndTheFilterIsObeyed() throws Exception {
        try (Receiver receiver = new Receiver()) {
            String all = createJob("\"webhook\": \"" + receiver.url("/all") + "\"").get("id").asString();
            // One transaction, so that both progress calls see the same now() whatever the machine's load.
            tx.executeWithoutResult(s -> {
                for (WebhookEvent e : List.of(WebhookEvent.START, WebhookEvent.START, WebhookEvent.PROGRESS,
                        WebhookEvent.PROGRESS)) {
                    webhooks.enqueue(Subject.JOB, all, e);
                }
            });
            tx.executeWithoutResult(s -> webhooks.enqueue(Subject.JOB, all, WebhookEvent.START));
            assertThat(jdbc.queryForList("select event from webhook_deliveries where subject_id = ? order by seq",
                    String.class, all)).containsExactly("start", "progress");
            Thread.sleep(1100); // selectune.webhooks.progress-interval in the tests
            tx.executeWithoutResult(s -> webhooks.enqueue(Subject.JOB, all, WebhookEvent.PROGRESS));
            assertThat(deliveries(all)).isEqualTo(3);

            String onlyCompleted = createJob("\"webhook\": \"" + receiver.url("/c") + "\","
                    + " \"webhook_events_filter\": [\"completed\"]").get("id").asString();
            tx.executeWithoutResult(s -> {
                webhooks.enqueue(Subject.JOB, onlyCompleted, WebhookEvent.START);
                webhooks.enqueue(Subject.JOB, onlyCompleted, WebhookEvent.PROGRESS);
            });
            assertThat(deliveries(onlyCompleted)).isZero();
        }
    }

    @Test
    void aRotatedSecretSignsAtOnceAndThePreviousOneStillVerifiesDuringTheGrace() throws Exception {
        try (Receiver receiver = new Receiver()) {
            String before = secret();
            assertThat(secret()).isEqualTo(before).startsWith("whsec_");
            MvcResult r = mvc.perform(post("/v1/webhooks/default/secret/rotate").header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi()).andReturn();
            String after = JsonPath.read(r.getResponse().getContentAsString(), "$.key");
            assertThat(after).isNotEqualTo(before).isEqualTo(secret());
            mvc.perform(get("/v1/webhooks/default/secret").header("Authorization", GLOBEX))
                    .andExpect(jsonPath("$.key").value(org.hamcrest.Matchers.not(after)));

            String id = createJob("\"webhook\": \"" + receiver.url("/rotated") + "\","
                    + " \"webhook_events_filter\": [\"completed\"]").get("id").asString();
            mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME)).andExpect(status().isOk());
            await(() -> receiver.requests.size() == 1, Duration.ofSeconds(10));
            Receiver.Request call = receiver.requests.get(0);
            assertThat(call.header("webhook-signature").split(" ")).hasSize(2);
            assertThat(Receiver.verifies(call, after)).isTrue();
            assertThat(Receiver.verifies(call, before)).isTrue();
        }
    }

    @Test
    void aTrainingJobCallsBackStartProgressAndCompleted() throws Exception {
        try (Receiver receiver = new Receiver()) {
            String id = createJob("\"webhook\": \"" + receiver.url("/train") + "\"").get("id").asString();
            workers.resumeClaims();
            JsonNode finished = awaitStatus(id, "succeeded", JOB_TIMEOUT);
            await(() -> receiver.requests.stream().anyMatch(r -> r.body().contains("\"succeeded\"")),
                    Duration.ofSeconds(10));
            String key = secret();
            List<JsonNode> bodies = receiver.requests.stream().map(r -> json.readTree(r.body())).toList();
            for (Receiver.Request r : receiver.requests) {
                assertThat(Receiver.verifies(r, key)).isTrue();
            }
            List<String> events = jdbc.queryForList("select event from webhook_deliveries where subject_id = ?"
                    + " order by seq", String.class, id);
            assertThat(events.get(0)).isEqualTo("start");
            assertThat(events).contains("progress").endsWith("completed");
            assertThat(bodies.get(0).get("status").asString()).isEqualTo("running");
            JsonNode completed = bodies.stream().filter(b -> b.get("status").asString().equals("succeeded"))
                    .findFirst().orElseThrow();
            // The completed body is the job as GET returns it.
            assertThat(completed.get("progress").get("step")).isEqualTo(finished.get("progress").get("step"));
            assertThat(completed.get("final_loss")).isEqualTo(finished.get("final_loss"));
            assertThat(completed.get("finished_at")).isEqualTo(finished.get("finished_at"));
        }
    }
}
