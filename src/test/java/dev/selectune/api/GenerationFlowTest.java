package dev.selectune.api;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import com.jayway.jsonpath.JsonPath;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.lora.LoraFormat;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import dev.selectune.webhooks.Receiver;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockMultipartFile;
import org.springframework.mock.web.MockPart;
import org.springframework.test.web.servlet.MvcResult;
import org.springframework.test.web.servlet.ResultActions;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import javax.imageio.ImageIO;
import java.io.ByteArrayInputStream;
import java.awt.image.BufferedImage;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Timestamp;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.hamcrest.Matchers.hasItem;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.delete;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.request;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * /v1/generations on the tiny SD 1.5 pipeline: LoRAs of a finished job composed at their scales, the PNGs as
 * artifacts, idempotency, validation, tenant isolation, cancel and delete, and the worker policy (a generation
 * queued during a long training job runs between two of its steps).
 */
class GenerationFlowTest extends ServiceTestBase {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    private static final Path TINY = GoldenCase.resource("tiny-sd15");
    private static byte[] secondLora;

    @Autowired
    BlobStore blobs;

    /** A second LoRA for the tiny UNet, as the trainer writes it (kohya naming), with B moved off zero. */
    @BeforeAll
    static void writeSecondLora(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("second.safetensors");
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(TINY.resolve("unet"), m, DataType.FLOAT32);
                try (LoraNetwork lora = LoraNetwork.create(unet, 2, 2, 5, m)) {
                    lora.adapters().values().forEach(a -> a.up().addi(m.randomUniform(-0.3f, 0.3f,
                            a.up().getShape())));
                    lora.save(file, LoraFormat.KOHYA);
                }
            }
        });
        secondLora = Files.readAllBytes(file);
    }

    /**
     * A finished job of {@code tenant} with the golden diffusers LoRA as lora.safetensors and the second one as
     * lora-kohya.safetensors, stored as the job runner stores them.
     */
    private String finishedJob(String tenant) throws Exception {
        String set = "imgset_" + Hashes.sha256Hex(String.valueOf(System.nanoTime())).substring(0, 20);
        String job = "job_" + Hashes.sha256Hex(set).substring(0, 20);
        jdbc.update("insert into image_sets (id, tenant, image_count, total_bytes) values (?, ?, 0, 0)", set, tenant);
        jdbc.update("""
                insert into jobs (id, tenant, image_set_id, base_model, spec, status, max_attempts, total_steps, step,
                                  finished_at)
                values (?, ?, ?, 'tiny-sd15', '{}', 'succeeded', 1, 1, 1, now())""", job, tenant, set);
        byte[] first = Files.readAllBytes(TINY.resolve("pytorch_lora_weights.safetensors"));
        for (var e : Map.of("lora.safetensors", first, "lora-kohya.safetensors", secondLora).entrySet()) {
            String key = "jobs/" + job + "/artifacts/g1/" + e.getKey();
            blobs.put(key, e.getValue());
            jdbc.update("insert into artifacts (job_id, name, blob_key, content_type, size_bytes, sha256)"
                    + " values (?, ?, ?, 'application/octet-stream', ?, ?)", job, e.getKey(), key,
                    e.getValue().length, Hashes.sha256Hex(e.getValue()));
        }
        return job;
    }

    private ResultActions create(String auth, String body, String key) throws Exception {
        var request = post("/v1/generations").header("Authorization", auth).contentType(MediaType.APPLICATION_JSON)
                .content(body);
        return mvc.perform(key == null ? request : request.header("Idempotency-Key", key));
    }

    private JsonNode awaitGeneration(String id, String wanted) throws Exception {
        JsonMapper json = JsonMapper.builder().build();
        long deadline = System.nanoTime() + TIMEOUT.toNanos();
        while (true) {
            MvcResult r = mvc.perform(get("/v1/generations/" + id).header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi()).andReturn();
            JsonNode g = json.readTree(r.getResponse().getContentAsString());
            String status = g.get("status").asString();
            if (status.equals(wanted)) {
                return g;
            }
            if (List.of("succeeded", "failed", "cancelled").contains(status) || System.nanoTime() > deadline) {
                throw new AssertionError("generation " + id + " is " + status + ", expected " + wanted + ": " + g);
            }
            Thread.sleep(100);
        }
    }

    private static String id(ResultActions r) throws Exception {
        return JsonPath.read(r.andReturn().getResponse().getContentAsString(), "$.id");
    }

    /** As a job's: signed start, progress and completed calls with the generation as GET returns it, and a log. */
    @Test
    void aGenerationWithAWebhookCallsBackSignedAndLogsTheDeliveries() throws Exception {
        String job = finishedJob("acme");
        try (Receiver receiver = new Receiver()) {
            String body = """
                    {"base_model": "tiny-sd15", "prompt": "a photo of sks dog", "n": 2, "width": 32, "height": 24,
                     "steps": 2, "seed": 7, "loras": [{"job_id": "%s", "scale": 0.8}], "webhook": "%s"}"""
                    .formatted(job, receiver.url("/gen"));
            String id = id(create(ACME, body, null).andExpect(status().isCreated()).andExpect(matchesOpenApi())
                    .andExpect(jsonPath("$.request.webhook").value(receiver.url("/gen")))
                    .andExpect(jsonPath("$.request.webhook_events_filter.length()").value(3)));
            workers.resumeClaims();
            JsonNode done = awaitGeneration(id, "succeeded");
            long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            while (receiver.requests.stream().noneMatch(r -> r.body().contains("\"succeeded\""))) {
                assertThat(System.nanoTime()).as("a completed call within 20 s").isLessThan(deadline);
                Thread.sleep(50);
            }
            String key = JsonPath.read(mvc.perform(get("/v1/webhooks/default/secret").header("Authorization", ACME))
                    .andReturn().getResponse().getContentAsString(), "$.key");
            JsonMapper json = JsonMapper.builder().build();
            for (Receiver.Request r : receiver.requests) {
                assertThat(Receiver.verifies(r, key)).as(r.body()).isTrue();
            }
            JsonNode completed = json.readTree(receiver.requests.get(receiver.requests.size() - 1).body());
            assertThat(completed.get("id").asString()).isEqualTo(id);
            assertThat(completed.get("images")).isEqualTo(done.get("images"));
            assertThat(jdbc.queryForList("select event from webhook_deliveries where subject_id = ? order by seq",
                    String.class, id)).startsWith("start").endsWith("completed");
            mvc.perform(get("/v1/generations/" + id + "/webhook-deliveries").header("Authorization", ACME))
                    .andExpect(status().isOk()).andExpect(matchesOpenApi())
                    .andExpect(jsonPath("$.data[0].event").value("start"));
            mvc.perform(get("/v1/generations/" + id + "/webhook-deliveries").header("Authorization", GLOBEX))
                    .andExpect(status().isNotFound());
        }
    }

    @Test
    void generatesWithTwoLorasAtTheirScalesAndServesThePngsAsArtifacts() throws Exception {
        String job = finishedJob("acme");
        String body = """
                {"base_model": "tiny-sd15", "prompt": "a photo of sks dog", "negative_prompt": "blurry", "n": 2,
                 "width": 32, "height": 24, "steps": 2, "guidance_scale": 5, "scheduler": "euler", "seed": 42,
                 "loras": [{"job_id": "%s", "scale": 0.8},
                           {"url": "http://localhost/v1/jobs/%s/artifacts/lora-kohya.safetensors", "scale": 0.5}],
                 "metadata": {"order": "1234"}}""".formatted(job, job);
        ResultActions created = create(ACME, body, "gen-key-1").andExpect(status().isCreated())
                .andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.status").value("queued"))
                .andExpect(jsonPath("$.seeds[0]").value(42)).andExpect(jsonPath("$.seeds[1]").value(43))
                .andExpect(jsonPath("$.request.loras[0].artifact").value("lora.safetensors"))
                .andExpect(jsonPath("$.request.loras[1].job_id").value(job))
                .andExpect(jsonPath("$.request.loras[1].scale").value(0.5))
                .andExpect(header().string("Idempotent-Replayed", "false"));
        String id = id(created);
        create(ACME, body, "gen-key-1").andExpect(status().isOk()).andExpect(jsonPath("$.id").value(id))
                .andExpect(header().string("Idempotent-Replayed", "true"));
        create(ACME, body.replace("\"n\": 2", "\"n\": 3"), "gen-key-1").andExpect(status().isUnprocessableContent())
                .andExpect(jsonPath("$.errors[0].field").value("Idempotency-Key"));

        MvcResult sse = mvc.perform(get("/v1/generations/" + id + "/events").header("Authorization", ACME)
                .accept(MediaType.TEXT_EVENT_STREAM)).andExpect(request().asyncStarted()).andReturn();
        workers.resumeClaims();
        JsonNode g = awaitGeneration(id, "succeeded");
        sse.getAsyncResult(TIMEOUT.toMillis());
        assertThat(sse.getResponse().getContentAsString()).contains("event:queued").contains("event:claimed")
                .contains("event:succeeded");
        assertThat(g.at("/progress/step").asInt()).isEqualTo(4);
        assertThat(g.at("/images").size()).isEqualTo(2);
        assertThat(g.at("/images/1/seed").asLong()).isEqualTo(43);
        assertThat(g.at("/memory/peak_bytes").asLong()).isPositive();
        assertThat(g.at("/timing/run_seconds").asDouble()).isPositive();
        assertThat(g.at("/metadata/order").asString()).isEqualTo("1234");

        String url = g.at("/images/0/url").asString();
        MvcResult png = mvc.perform(get(url).header("Authorization", ACME)).andExpect(status().isOk())
                .andExpect(matchesOpenApi()).andExpect(header().string("Content-Type", "image/png")).andReturn();
        byte[] bytes = png.getResponse().getContentAsByteArray();
        BufferedImage image = ImageIO.read(new ByteArrayInputStream(bytes));
        assertThat(image.getWidth()).isEqualTo(32);
        assertThat(image.getHeight()).isEqualTo(24);
        String sha = Hashes.sha256Hex(bytes);
        assertThat(png.getResponse().getHeader("ETag")).isEqualTo("\"" + sha + "\"");
        assertThat(g.at("/images/0/sha256").asString()).isEqualTo(sha);
        mvc.perform(get(url).header("Authorization", ACME).header("If-None-Match", "\"" + sha + "\""))
                .andExpect(status().isNotModified());
        mvc.perform(get(url).header("Authorization", ACME).header("Range", "bytes=0-7"))
                .andExpect(status().isPartialContent())
                .andExpect(header().string("Content-Range", "bytes 0-7/" + bytes.length));
        mvc.perform(get("/v1/generations/" + id + "/artifacts").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[*].name", hasItem("image-1.png")));
        mvc.perform(get(url).header("Authorization", GLOBEX)).andExpect(status().isNotFound());

        // The same request without LoRAs, on the worker that still holds the base model: another image.
        String plain = id(create(ACME, body.replaceAll("(?s)\"loras\": \\[.*?],", ""), null)
                .andExpect(status().isCreated()));
        JsonNode base = awaitGeneration(plain, "succeeded");
        assertThat(base.at("/images/0/sha256").asString()).isNotEqualTo(sha);
        // The LoRAs again: nothing is loaded again, and the image is the first one, bit for bit.
        String again = id(create(ACME, body, null).andExpect(status().isCreated()));
        JsonNode repeated = awaitGeneration(again, "succeeded");
        assertThat(repeated.at("/images/0/sha256").asString()).isEqualTo(sha);
        assertThat(jdbc.queryForList("select message from generation_events where generation_id = ? order by id",
                String.class, again)).contains("base model tiny-sd15 already loaded on this worker")
                .anyMatch(m -> m.startsWith("LoRA /v1/jobs/" + job + "/artifacts/lora.safetensors already loaded"));

        mvc.perform(get("/v1/generations").header("Authorization", ACME).param("status", "succeeded")
                        .param("limit", "2"))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[0].id").value(again)).andExpect(jsonPath("$.has_more").value(true));
        mvc.perform(get("/v1/generations/" + id + "/events").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[*].type", hasItem("succeeded")));
        String prometheus = mvc.perform(get("/actuator/prometheus")).andReturn().getResponse().getContentAsString();
        for (String metric : List.of("selectune_generations_total{status=\"succeeded\"}",
                "selectune_generation_duration_seconds_count", "selectune_generation_images_total",
                "selectune_generations_queue_depth")) {
            assertThat(prometheus).as(metric).contains(metric);
        }

        mvc.perform(post("/v1/generations/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isConflict()).andExpect(matchesOpenApi());
        mvc.perform(delete("/v1/generations/" + id).header("Authorization", ACME)).andExpect(status().isNoContent());
        mvc.perform(get(url).header("Authorization", ACME)).andExpect(status().isNotFound());
        assertThat(blobs.get(jdbc.queryForObject("select blob_key from generation_images where generation_id = ?"
                + " and position = 0", String.class, again))).isPresent();
    }

    /**
     * ddpm adds fresh noise at every step from the image's own seed: image 1 of a generation of two seeded 7 is, bit
     * for bit, the image of a generation of one seeded 8; and ddpm at seed 7 is not ddim at seed 7.
     */
    @Test
    void ddpmImageOfAGenerationDependsOnItsSeedAlone() throws Exception {
        String body = """
                {"base_model": "tiny-sd15", "prompt": "a photo of sks dog", "n": %d, "width": 32, "height": 24,
                 "steps": 3, "scheduler": "%s", "seed": %d}""";
        String pair = id(create(ACME, body.formatted(2, "ddpm", 7), null).andExpect(status().isCreated()));
        String single = id(create(ACME, body.formatted(1, "ddpm", 8), null).andExpect(status().isCreated()));
        String ddim = id(create(ACME, body.formatted(1, "ddim", 7), null).andExpect(status().isCreated()));
        workers.resumeClaims();
        JsonNode two = awaitGeneration(pair, "succeeded");
        JsonNode one = awaitGeneration(single, "succeeded");
        JsonNode deterministic = awaitGeneration(ddim, "succeeded");
        assertThat(one.at("/images/0/seed").asLong()).isEqualTo(two.at("/images/1/seed").asLong()).isEqualTo(8);
        assertThat(one.at("/images/0/sha256").asString()).isEqualTo(two.at("/images/1/sha256").asString());
        assertThat(two.at("/images/0/sha256").asString()).isNotEqualTo(two.at("/images/1/sha256").asString());
        assertThat(deterministic.at("/images/0/sha256").asString()).isNotEqualTo(two.at("/images/0/sha256").asString());
    }

    @Test
    void badFieldsAreProblemsNamingEachField() throws Exception {
        create(ACME, """
                {"base_model": "tiny-sd15", "n": 9, "width": 33, "height": 4096, "steps": 0, "guidance_scale": -1,
                 "scheduler": "lms", "seed": -1, "loras": [{"scale": 20}]}""", null)
                .andExpect(status().isUnprocessableContent()).andExpect(matchesOpenApi())
                .andExpect(header().string("Content-Type", containsString("application/problem+json")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("prompt")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("n")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("width")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("height")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("steps")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("guidance_scale")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("scheduler")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("seed")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("loras[0]")))
                .andExpect(jsonPath("$.errors[*].field", hasItem("loras[0].scale")));
        create(ACME, "{\"base_model\": \"nope\", \"prompt\": \"x\"}", null)
                .andExpect(status().isUnprocessableContent()).andExpect(jsonPath("$.errors[0].field").value("base_model"));
        create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"n\": \"2\"}", null)
                .andExpect(status().isUnprocessableContent()).andExpect(jsonPath("$.errors[0].field").value("n"));
        create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"size\": 2}", null)
                .andExpect(status().isBadRequest()).andExpect(jsonPath("$.errors[0].field").value("size"));
        create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"loras\": [{\"url\": \"/v1/images/1\"}]}",
                null).andExpect(status().isUnprocessableContent())
                .andExpect(jsonPath("$.errors[0].field").value("loras[0].url"));
        assertThat(jdbc.queryForObject("select count(*) from generations where tenant = 'acme' and status = 'queued'",
                Integer.class)).isZero();
    }

    @Test
    void anotherTenantsLoraIsNotFoundAndNothingIsQueued() throws Exception {
        String job = finishedJob("acme");
        Integer before = jdbc.queryForObject("select count(*) from generations where tenant = 'globex'", Integer.class);
        create(GLOBEX, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"loras\": [{\"job_id\": \"" + job
                + "\"}]}", null).andExpect(status().isNotFound()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.errors[0].field").value("loras[0].job_id"));
        create(GLOBEX, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"loras\": [{\"url\": \"/v1/jobs/" + job
                + "/artifacts/lora.safetensors\"}]}", null).andExpect(status().isNotFound())
                .andExpect(jsonPath("$.errors[0].field").value("loras[0].url"));
        create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"loras\": [{\"job_id\": \"" + job
                + "\", \"artifact\": \"missing.safetensors\"}]}", null).andExpect(status().isUnprocessableContent())
                .andExpect(jsonPath("$.errors[0].field").value("loras[0].job_id"));
        assertThat(jdbc.queryForObject("select count(*) from generations where tenant = 'globex'", Integer.class))
                .isEqualTo(before);
    }

    @Test
    void aQueuedGenerationIsCancelledAtOnceAndAnActiveOneIsNotDeleted() throws Exception {
        String id = id(create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"steps\": 1}", null)
                .andExpect(status().isCreated()).andExpect(jsonPath("$.queue_position").value(1)));
        mvc.perform(delete("/v1/generations/" + id).header("Authorization", ACME)).andExpect(status().isConflict())
                .andExpect(matchesOpenApi());
        mvc.perform(get("/v1/generations/" + id).header("Authorization", GLOBEX)).andExpect(status().isNotFound());
        mvc.perform(post("/v1/generations/" + id + "/cancel").header("Authorization", GLOBEX))
                .andExpect(status().isNotFound());
        mvc.perform(post("/v1/generations/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.status").value("cancelled"));
        mvc.perform(delete("/v1/generations/" + id).header("Authorization", ACME)).andExpect(status().isNoContent());
        mvc.perform(get("/v1/generations/" + id).header("Authorization", ACME)).andExpect(status().isNotFound())
                .andExpect(matchesOpenApi());
    }

    /** A running generation asked to cancel stops at its next denoising step and keeps no images. */
    @Test
    void aRunningGenerationStopsAtItsNextStepWhenCancelled() throws Exception {
        String id = id(create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"x\", \"steps\": 200, \"n\": 8,"
                + " \"width\": 16, \"height\": 16}", null).andExpect(status().isCreated()));
        workers.resumeClaims();
        await(() -> jdbc.queryForObject("select step from generations where id = ?", Integer.class, id) >= 1,
                TIMEOUT);
        mvc.perform(post("/v1/generations/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isAccepted()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.cancel_requested").value(true));
        JsonNode g = awaitGeneration(id, "cancelled");
        assertThat(g.at("/progress/step").asInt()).isBetween(1, 1599);
        assertThat(g.at("/images").size()).isZero();
        assertThat(jdbc.queryForObject("select count(*) from generation_images where generation_id = ?",
                Integer.class, id)).isZero();
        assertThat(jdbc.queryForList("select type from generation_events where generation_id = ? order by id",
                String.class, id)).containsSubsequence("queued", "claimed", "cancel_requested", "cancelled");
    }

    /**
     * The worker policy: the worker running a long training job takes a queued generation after the step in
     * progress, so at most one training step is recorded between the generation's creation and its end, and the
     * job goes on afterwards on the same worker.
     */
    @Test
    void aGenerationQueuedDuringALongTrainingJobFinishesWithinOneTrainingStep() throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, ("{\"base_model\": \"tiny-sd15\", \"instance_prompt\":"
                                + " \"a photo of sks dog\", \"steps\": 300, \"schedule\": \"bp_low\","
                                + " \"checkpoint_every\": 0}").getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andReturn();
        String job = JsonPath.read(r.getResponse().getContentAsString(), "$.id");
        workers.resumeClaims();
        try {
            await(() -> jdbc.queryForObject("select step from jobs where id = ?", Integer.class, job) >= 2, TIMEOUT);
            String id = id(create(ACME, "{\"base_model\": \"tiny-sd15\", \"prompt\": \"a dog\", \"steps\": 2,"
                    + " \"width\": 16, \"height\": 16}", null).andExpect(status().isCreated()));
            // Counted from when the 201 came back, not from created_at: the row is stamped when its transaction
            // starts and seen by the worker only once it commits, and a tiny training step is shorter than that.
            Timestamp visible = jdbc.queryForObject("select clock_timestamp()", Timestamp.class);
            awaitGeneration(id, "succeeded");
            Map<String, Object> g = jdbc.queryForMap("select created_at, finished_at, worker_id from generations"
                    + " where id = ?", id);
            Integer stepsBetween = jdbc.queryForObject("select count(*) from job_metrics where job_id = ?"
                    + " and created_at > ? and created_at < ?", Integer.class, job, visible, g.get("finished_at"));
            assertThat(stepsBetween).isLessThanOrEqualTo(1);
            Map<String, Object> j = jdbc.queryForMap("select status, worker_id, step from jobs where id = ?", job);
            assertThat(j.get("worker_id")).isEqualTo(g.get("worker_id"));
            assertThat(jdbc.queryForObject("select count(*) from job_metrics where job_id = ? and created_at < ?",
                    Integer.class, job, g.get("finished_at"))).isLessThan(300);
            int stepAtEnd = (Integer) j.get("step");
            await(() -> jdbc.queryForObject("select step from jobs where id = ?", Integer.class, job) > stepAtEnd
                    || !"running".equals(jdbc.queryForObject("select status from jobs where id = ?", String.class,
                    job)), TIMEOUT);
        } finally {
            mvc.perform(post("/v1/jobs/" + job + "/cancel").header("Authorization", ACME));
            await(() -> !"running".equals(jdbc.queryForObject("select status from jobs where id = ?", String.class,
                    job)), TIMEOUT);
        }
    }
}
