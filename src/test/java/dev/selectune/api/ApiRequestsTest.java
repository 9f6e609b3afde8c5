package dev.selectune.api;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.config.ApiKeys;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.mock.web.MockPart;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.ResultActions;

import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.hamcrest.Matchers.hasSize;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.delete;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The API without training: models, auth, uploads and job specs, every kind of bad input (a problem detail naming
 * the field, and nothing stored), idempotency, queued cancellation, paging, tenant isolation. Workers are paused,
 * so jobs stay queued. Every response is validated against openapi.yaml.
 */
class ApiRequestsTest extends ServiceTestBase {
    @Autowired
    ApiKeys keys;

    @Test
    void listsTheConfiguredModels() throws Exception {
        mvc.perform(get("/v1/models").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[0].id").value("tiny-sd15"))
                .andExpect(jsonPath("$.data[0].family").value("sd15"))
                .andExpect(jsonPath("$.data[0].native_resolution").value(64));
    }

    @Test
    void refusesMissingAndUnknownKeys() throws Exception {
        mvc.perform(get("/v1/jobs")).andExpect(status().isUnauthorized()).andExpect(matchesOpenApi())
                .andExpect(header().string("WWW-Authenticate", "Bearer"))
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/unauthorized"));
        mvc.perform(get("/v1/jobs").header("Authorization", "Bearer st_not_a_key_at_all_12345"))
                .andExpect(status().isUnauthorized()).andExpect(matchesOpenApi());
    }

    @Test
    void keysAreStoredHashedAndCanBeRevoked() throws Exception {
        ApiKeys.Created created = keys.create("initech");
        assertThat(created.key()).startsWith("st_").hasSizeGreaterThan(40);
        mvc.perform(get("/v1/jobs").header("Authorization", "Bearer " + created.key())).andExpect(status().isOk());
        // Nothing in the table holds the key itself.
        assertThat(jdbc.queryForObject("select count(*) from api_keys where id = ? and position(? in"
                + " encode(key_hash, 'escape')) = 0 and length(key_hash) = 32", Long.class, created.id(),
                created.key())).isEqualTo(1);
        assertThat(keys.list()).anySatisfy(k -> assertThat(k.id()).isEqualTo(created.id()));
        assertThat(keys.revoke(created.id())).isTrue();
        mvc.perform(get("/v1/jobs").header("Authorization", "Bearer " + created.key()))
                .andExpect(status().isUnauthorized());
    }

    @Test
    void uploadsAnImageSetAndHidesItFromOtherTenants() throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/image-sets").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.image_count").value(2))
                .andExpect(jsonPath("$.images[0].format").value("jpeg"))
                .andExpect(jsonPath("$.images[0].width").value(128)).andReturn();
        String id = JsonPath.read(r.getResponse().getContentAsString(), "$.id");
        mvc.perform(get("/v1/image-sets/" + id).header("Authorization", ACME)).andExpect(status().isOk());
        mvc.perform(get("/v1/image-sets/" + id).header("Authorization", GLOBEX))
                .andExpect(status().isNotFound()).andExpect(matchesOpenApi());
        // Another tenant cannot train on it either.
        mvc.perform(post("/v1/jobs").header("Authorization", GLOBEX).contentType(MediaType.APPLICATION_JSON)
                        .content(spec("\"image_set_id\": \"" + id + "\"")))
                .andExpect(status().isNotFound()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[0].field").value("image_set_id"));
    }

    @Test
    void refusesBadImagesByContentAndStoresNothing() throws Exception {
        long setsBefore = count("image_sets");
        long blobsBefore = count("blobs");
        BufferedImage gif = new BufferedImage(100, 100, BufferedImage.TYPE_BYTE_INDEXED);
        byte[] truncated = java.util.Arrays.copyOf(TestImages.png(100, 100), 60);
        badUpload(422, "images[1]", "not a PNG, JPEG or WebP",
                TestImages.dogPart(0), TestImages.part("notes.png", "image/png", "hello".getBytes(StandardCharsets.UTF_8)));
        badUpload(422, "images[0]", "not a PNG, JPEG or WebP",
                TestImages.part("dog.png", "image/png", TestImages.encode(gif, "gif")));
        badUpload(422, "images[0]", "at least 64 px", TestImages.part("tiny.png", "image/png", TestImages.png(16, 16)));
        badUpload(422, "images[0]", "9000x9000", TestImages.part("bomb.png", "image/png",
                TestImages.pngHeaderOnly(9000, 9000)));
        badUpload(422, "images[0]", "png", TestImages.part("cut.png", "image/png", truncated));
        badUpload(422, "images", "at most 6", TestImages.dogPart(0), TestImages.dogPart(1), TestImages.dogPart(2),
                TestImages.dogPart(3), TestImages.dogPart(0), TestImages.dogPart(1), TestImages.dogPart(2));
        badUpload(413, "images[0]", "per image", TestImages.part("noise.png", "image/png", TestImages.noisyPng(400)));
        assertThat(count("image_sets")).isEqualTo(setsBefore);
        assertThat(count("blobs")).isEqualTo(blobsBefore);
    }

    private void badUpload(int status, String field, String message, MockMultipartFile... files) throws Exception {
        var request = multipart("/v1/image-sets").header("Authorization", ACME);
        for (MockMultipartFile f : files) {
            request.file(f);
        }
        mvc.perform(request).andExpect(status().is(status)).andExpect(matchesOpenApi())
                .andExpect(header().string("Content-Type", "application/problem+json"))
                .andExpect(jsonPath("$.status").value(status))
                .andExpect(jsonPath("$.errors[*].field", hasItem(field)))
                .andExpect(jsonPath("$.errors[0].message", containsString(message)));
    }

    @Test
    void refusesBadSpecsNamingTheField() throws Exception {
        String set = imageSet();
        long jobsBefore = count("jobs");
        badSpec("{\"base_model\": \"tiny-sd15\", ", 400, "malformed-json", null);
        badSpec(spec("\"image_set_id\": \"" + set + "\", \"learning_rat\": 0.1"), 400, "unknown-field", "learning_rat");
        badSpec(spec("\"image_set_id\": \"" + set + "\", \"rank\": \"many\""), 422, "invalid-field", "rank");
        badSpec(spec("\"image_set_id\": \"" + set + "\", \"steps\": 3"), 400, "malformed-json", "steps");
        ResultActions r = badSpec(spec("\"image_set_id\": \"" + set + "\", \"resize_ratio\": 1.5,"
                + " \"schedule\": \"fastest\", \"rank\": 0").replace("\"steps\": 2", "\"steps\": 0"), 422,
                "invalid-request", "steps");
        r.andExpect(jsonPath("$.errors[*].field", hasItem("resize_ratio")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("schedule")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("rank")));
        badSpec("{\"base_model\": \"sd9\", \"instance_prompt\": \"a sks dog\", \"image_set_id\": \"" + set + "\"}",
                422, "invalid-request", "base_model");
        badSpec("{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a sks dog\"}", 422, "invalid-request",
                "image_set_id");
        // 48 px images are below the tiny model's low resolution? No: 64 * 0.5 = 32. A 2048 px resolution is not.
        badSpec(spec("\"image_set_id\": \"" + set + "\", \"resolution\": 1024"), 422, "invalid-request", "images[0]");
        assertThat(count("jobs")).isEqualTo(jobsBefore);
    }

    private ResultActions badSpec(String body, int status, String type, String field) throws Exception {
        ResultActions r = mvc.perform(post("/v1/jobs").header("Authorization", ACME)
                        .contentType(MediaType.APPLICATION_JSON).content(body))
                .andExpect(status().is(status)).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/" + type))
                .andExpect(jsonPath("$.instance").value("/v1/jobs"));
        if (field != null) {
            r.andExpect(jsonPath("$.errors[*].field", hasItem(field)));
        }
        return r;
    }

    @Test
    void aMultipartJobWithOneBadImageStoresNothing() throws Exception {
        long sets = count("image_sets");
        long jobs = count("jobs");
        mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0))
                        .file(TestImages.part("x.jpg", "image/jpeg", "GIF89a....".getBytes(StandardCharsets.US_ASCII)))
                        .part(new MockPart("spec", null, spec("").getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[0].field").value("images[1]"));
        assertThat(count("image_sets")).isEqualTo(sets);
        assertThat(count("jobs")).isEqualTo(jobs);
    }

    @Test
    void createsAJobInOneMultipartRequest() throws Exception {
        mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, spec("\"metadata\": {\"run\": \"demo\"}")
                                .getBytes(StandardCharsets.UTF_8), MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.status").value("queued"))
                .andExpect(jsonPath("$.queue_position").isNumber())
                .andExpect(jsonPath("$.spec.steps").value(2))
                .andExpect(jsonPath("$.spec.learning_rate").value(1e-4))
                .andExpect(jsonPath("$.spec.t_mid").value(750.0))
                .andExpect(jsonPath("$.metadata.run").value("demo"));
    }

    @Test
    void aRetriedCreateWithTheSameIdempotencyKeyReturnsTheFirstJob() throws Exception {
        String body = spec("\"image_set_id\": \"" + imageSet() + "\"");
        String key = "retry-" + System.nanoTime();
        MvcResult first = mvc.perform(post("/v1/jobs").header("Authorization", ACME).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(body))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi())
                .andExpect(header().string("Idempotent-Replayed", "false")).andReturn();
        String id = JsonPath.read(first.getResponse().getContentAsString(), "$.id");
        mvc.perform(post("/v1/jobs").header("Authorization", ACME).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(body))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(header().string("Idempotent-Replayed", "true"))
                .andExpect(jsonPath("$.id").value(id));
        // The same key from another tenant is another job.
        String otherSet = imageSet(GLOBEX);
        mvc.perform(post("/v1/jobs").header("Authorization", GLOBEX).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(spec("\"image_set_id\": \"" + otherSet + "\"")))
                .andExpect(status().isCreated());
        assertThat(jdbc.queryForObject("select count(*) from jobs where idempotency_key = ?", Long.class, key))
                .isEqualTo(2);
    }

    @Test
    void anIdempotencyKeyReusedForADifferentSpecIsRefusedAndStoresNothing() throws Exception {
        String set = imageSet();
        String key = "reuse-" + System.nanoTime();
        mvc.perform(post("/v1/jobs").header("Authorization", ACME).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(spec("\"image_set_id\": \"" + set + "\"")))
                .andExpect(status().isCreated());
        long jobs = count("jobs");
        // The same request with other whitespace and field order is a retry...
        String reordered = "{ \"image_set_id\":\"" + set + "\", \"seed\": 7, \"steps\": 2,"
                + " \"instance_prompt\": \"a photo of sks dog\", \"base_model\": \"tiny-sd15\" }";
        mvc.perform(post("/v1/jobs").header("Authorization", ACME).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(reordered))
                .andExpect(status().isOk()).andExpect(header().string("Idempotent-Replayed", "true"));
        // ...but another spec under the same key is not.
        String other = spec("\"image_set_id\": \"" + set + "\"").replace("\"steps\": 2", "\"steps\": 3");
        mvc.perform(post("/v1/jobs").header("Authorization", ACME).header("Idempotency-Key", key)
                        .contentType(MediaType.APPLICATION_JSON).content(other))
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/idempotency-key-reused"))
                .andExpect(jsonPath("$.errors[0].field").value("Idempotency-Key"));
        assertThat(count("jobs")).isEqualTo(jobs);
    }

    @Test
    void aMultipartRetryMustCarryTheSameImages() throws Exception {
        String key = "multipart-" + System.nanoTime();
        byte[] spec = spec("").getBytes(StandardCharsets.UTF_8);
        MvcResult first = mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, spec, MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME).header("Idempotency-Key", key))
                .andExpect(status().isCreated()).andReturn();
        String id = JsonPath.read(first.getResponse().getContentAsString(), "$.id");
        long sets = count("image_sets");
        long jobs = count("jobs");
        mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, spec, MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME).header("Idempotency-Key", key))
                .andExpect(status().isOk()).andExpect(matchesOpenApi()).andExpect(jsonPath("$.id").value(id));
        mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(2))
                        .part(new MockPart("spec", null, spec, MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME).header("Idempotency-Key", key))
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/idempotency-key-reused"));
        assertThat(count("image_sets")).isEqualTo(sets);
        assertThat(count("jobs")).isEqualTo(jobs);
    }

    @Test
    void deletesAFinishedJobAndThenItsImageSetButNothingStillInUse() throws Exception {
        String set = imageSet();
        MvcResult created = mvc.perform(post("/v1/jobs").header("Authorization", ACME)
                        .contentType(MediaType.APPLICATION_JSON).content(spec("\"image_set_id\": \"" + set + "\"")))
                .andExpect(status().isCreated()).andReturn();
        String job = JsonPath.read(created.getResponse().getContentAsString(), "$.id");
        jdbc.update("insert into blobs (key, data) values (?, ?)", "jobs/" + job + "/artifacts/lora.safetensors",
                new byte[] {1, 2, 3});

        // Queued: refused, and the set it uses too.
        mvc.perform(delete("/v1/jobs/" + job).header("Authorization", ACME))
                .andExpect(status().isConflict()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/job-active"));
        mvc.perform(delete("/v1/image-sets/" + set).header("Authorization", ACME))
                .andExpect(status().isConflict()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.type").value("https://selectune.dev/problems/image-set-in-use"))
                .andExpect(jsonPath("$.detail").value(containsString(job)));
        // Another tenant sees neither.
        mvc.perform(delete("/v1/jobs/" + job).header("Authorization", GLOBEX)).andExpect(status().isNotFound());
        mvc.perform(delete("/v1/image-sets/" + set).header("Authorization", GLOBEX)).andExpect(status().isNotFound());

        mvc.perform(post("/v1/jobs/" + job + "/cancel").header("Authorization", ACME)).andExpect(status().isOk());
        mvc.perform(delete("/v1/jobs/" + job).header("Authorization", ACME))
                .andExpect(status().isNoContent()).andExpect(matchesOpenApi());
        mvc.perform(get("/v1/jobs/" + job).header("Authorization", ACME)).andExpect(status().isNotFound());
        assertThat(jdbc.queryForObject("select count(*) from job_events where job_id = ?", Long.class, job)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from blobs where key like ?", Long.class, "jobs/" + job + "/%"))
                .isZero();

        mvc.perform(delete("/v1/image-sets/" + set).header("Authorization", ACME))
                .andExpect(status().isNoContent()).andExpect(matchesOpenApi());
        mvc.perform(get("/v1/image-sets/" + set).header("Authorization", ACME)).andExpect(status().isNotFound());
        assertThat(jdbc.queryForObject("select count(*) from images where image_set_id = ?", Long.class, set)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from blobs where key like ?", Long.class,
                "image-sets/" + set + "/%")).isZero();
    }

    @Test
    void cancelsAQueuedJobAtOnceAndRefusesASecondCancel() throws Exception {
        String id = createJob(ACME);
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", GLOBEX))
                .andExpect(status().isNotFound()).andExpect(matchesOpenApi());
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.status").value("cancelled"))
                .andExpect(jsonPath("$.queue_position").doesNotExist());
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isConflict()).andExpect(matchesOpenApi());
        mvc.perform(get("/v1/jobs/" + id + "/events").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[*].type", hasItem("cancelled")));
    }

    @Test
    void anEventStreamResumesAfterLastEventIdAndEndsWithTheJob() throws Exception {
        String id = createJob(ACME);
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME)).andExpect(status().isOk());
        long first = jdbc.queryForObject("select min(id) from job_events where job_id = ?", Long.class, id);
        MvcResult sse = mvc.perform(get("/v1/jobs/" + id + "/events").header("Authorization", ACME)
                        .header("Last-Event-ID", first).accept(MediaType.TEXT_EVENT_STREAM))
                .andExpect(org.springframework.test.web.servlet.result.MockMvcResultMatchers.request().asyncStarted())
                .andReturn();
        sse.getAsyncResult(10_000);
        String stream = sse.getResponse().getContentAsString();
        assertThat(stream).doesNotContain("event:queued").contains("event:cancelled")
                .doesNotContain("id:" + first + "\n");
        assertThat(sse.getResponse().getContentType()).startsWith("text/event-stream");
    }

    @Test
    void listsNewestFirstWithAStatusFilterAndCursor() throws Exception {
        String a = createJob(GLOBEX);
        String b = createJob(GLOBEX);
        String c = createJob(GLOBEX);
        mvc.perform(post("/v1/jobs/" + b + "/cancel").header("Authorization", GLOBEX)).andExpect(status().isOk());
        MvcResult page1 = mvc.perform(get("/v1/jobs?limit=2&status=queued").header("Authorization", GLOBEX))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data", hasSize(2)))
                .andExpect(jsonPath("$.data[0].id").value(c))
                .andExpect(jsonPath("$.data[1].id").value(a)).andReturn();
        boolean more = JsonPath.read(page1.getResponse().getContentAsString(), "$.has_more");
        List<String> olderQueued = jdbc.queryForList("select id from jobs where tenant = 'globex' and status ="
                + " 'queued' and seq < (select seq from jobs where id = ?)", String.class, a);
        assertThat(more).isEqualTo(!olderQueued.isEmpty());
        mvc.perform(get("/v1/jobs?limit=1&after=" + c).header("Authorization", GLOBEX))
                .andExpect(status().isOk()).andExpect(jsonPath("$.data[0].id").value(b));
        mvc.perform(get("/v1/jobs?status=done").header("Authorization", GLOBEX))
                .andExpect(status().isBadRequest()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[0].field").value("status"));
        mvc.perform(get("/v1/jobs?limit=1000").header("Authorization", GLOBEX))
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.errors[0].field").value("limit"));
    }

    @Test
    void anotherTenantsJobIsNotFoundEverywhere() throws Exception {
        String id = createJob(ACME);
        for (String path : List.of("", "/events", "/metrics", "/artifacts", "/artifacts/lora.safetensors")) {
            mvc.perform(get("/v1/jobs/" + id + path).header("Authorization", GLOBEX))
                    .andExpect(status().isNotFound()).andExpect(matchesOpenApi());
        }
        mvc.perform(get("/v1/jobs").header("Authorization", GLOBEX))
                .andExpect(jsonPath("$.data[*].id", org.hamcrest.Matchers.not(hasItem(id))));
        mvc.perform(get("/v1/jobs/" + id).header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi());
    }

    @Test
    void theApiDescriptionIsPublicByDefault() throws Exception {
        mvc.perform(get("/v3/api-docs")).andExpect(status().isOk());
    }

    static String spec(String extra) {
        return "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": 2,"
                + " \"seed\": 7" + (extra.isEmpty() ? "" : ", " + extra) + "}";
    }

    private String imageSet() throws Exception {
        return imageSet(ACME);
    }

    String imageSet(String auth) throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/image-sets").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                .header("Authorization", auth)).andExpect(status().isCreated()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private String createJob(String auth) throws Exception {
        MvcResult r = mvc.perform(post("/v1/jobs").header("Authorization", auth).contentType(MediaType.APPLICATION_JSON)
                        .content(spec("\"image_set_id\": \"" + imageSet(auth) + "\"")))
                .andExpect(status().isCreated()).andExpect(matchesOpenApi()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private long count(String table) {
        return jdbc.queryForObject("select count(*) from " + table, Long.class);
    }
}
