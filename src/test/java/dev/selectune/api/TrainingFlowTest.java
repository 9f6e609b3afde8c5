package dev.selectune.api;

import com.jayway.jsonpath.JsonPath;
import dev.selectune.jobs.BlobCheckpointStore;
import dev.selectune.jobs.ImageRecord;
import dev.selectune.jobs.ImageRecordRepository;
import dev.selectune.jobs.JobQueue;
import dev.selectune.jobs.JobSpec;
import dev.selectune.storage.BlobStore;
import dev.selectune.training.SelectiveTrainer;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingResult;
import ai.djl.Device;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockPart;
import org.springframework.test.web.servlet.MvcResult;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.hasItem;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.jsonPath;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.request;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * Real training on the tiny SD 1.5 pipeline (64 px, a few steps) through the whole service: upload to LoRA
 * download with the SSE stream following the job, cancellation while running, and a worker that dies mid-job
 * whose job another worker finishes from the checkpoint.
 */
class TrainingFlowTest extends ServiceTestBase {
    private static final Duration JOB_TIMEOUT = Duration.ofMinutes(3);

    @Autowired
    JobQueue queue;
    @Autowired
    BlobStore blobs;
    @Autowired
    ImageRecordRepository images;
    @Autowired
    JsonMapper json;

    @Test
    void uploadTrainFollowAndDownloadTheLora() throws Exception {
        // Seed 3 with the random schedule draws one BP-low step, then one ZO-high step (one perturbation: cheap).
        String id = createJob(spec(2, "random", "\"seed\": 3, \"zo_perturbations\": 1, \"checkpoint_every\": 1,"
                + " \"validation_prompts\": [\"a photo of sks dog on the beach\"], \"validation_steps\": 1"));
        // Follow the job from before it starts: the stream ends by itself when the job finishes.
        MvcResult sse = mvc.perform(get("/v1/jobs/" + id + "/events").header("Authorization", ACME)
                .accept(MediaType.TEXT_EVENT_STREAM)).andExpect(request().asyncStarted()).andReturn();
        workers.resumeClaims();
        JsonNode job = awaitStatus(id, "succeeded");
        sse.getAsyncResult(JOB_TIMEOUT.toMillis());
        String stream = sse.getResponse().getContentAsString();
        assertThat(stream).contains("event:claimed").contains("event:progress").contains("event:succeeded");

        assertThat(job.at("/progress/step").asInt()).isEqualTo(2);
        assertThat(job.at("/steps/bp").asInt()).isEqualTo(1);
        assertThat(job.at("/steps/zo").asInt()).isEqualTo(1);
        assertThat(job.at("/memory/peak_bytes").asLong()).isPositive()
                .isEqualTo(Math.max(job.at("/memory/bp_peak_bytes").asLong(), job.at("/memory/zo_peak_bytes").asLong()));
        assertThat(job.at("/final_loss").isNumber()).isTrue();
        mvc.perform(get("/v1/jobs/" + id + "/metrics").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data.length()").value(2))
                .andExpect(jsonPath("$.data[0].strategy").value("bp_low"))
                .andExpect(jsonPath("$.data[1].strategy").value("zo_high"));
        mvc.perform(get("/v1/jobs/" + id + "/artifacts").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.data[*].name", hasItem("lora.safetensors")))
                .andExpect(jsonPath("$.data[*].name", hasItem("lora-kohya.safetensors")))
                .andExpect(jsonPath("$.data[*].name", hasItem("metrics.json")))
                .andExpect(jsonPath("$.data[*].name", hasItem("sample-0.png")));

        MvcResult lora = mvc.perform(get("/v1/jobs/" + id + "/artifacts/lora.safetensors").header("Authorization", ACME))
                .andExpect(status().isOk()).andExpect(matchesOpenApi()).andReturn();
        byte[] bytes = lora.getResponse().getContentAsByteArray();
        String sha = HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        assertThat(lora.getResponse().getHeader("ETag")).isEqualTo("\"" + sha + "\"");
        assertThat(lora.getResponse().getHeader("Content-Length")).isEqualTo(String.valueOf(bytes.length));
        assertThat(safetensorsKeys(bytes)).isNotEmpty().allMatch(k -> k.equals("__metadata__") || k.contains("lora"));
        mvc.perform(get("/v1/jobs/" + id + "/artifacts/lora.safetensors").header("Authorization", ACME)
                        .header("If-None-Match", "\"" + sha + "\""))
                .andExpect(status().isNotModified());
        MvcResult range = mvc.perform(get("/v1/jobs/" + id + "/artifacts/lora.safetensors")
                        .header("Authorization", ACME).header("Range", "bytes=0-7"))
                .andExpect(status().isPartialContent())
                .andExpect(header().string("Content-Range", "bytes 0-7/" + bytes.length)).andReturn();
        assertThat(range.getResponse().getContentAsByteArray()).containsExactly(java.util.Arrays.copyOf(bytes, 8));

        String prometheus = mvc.perform(get("/actuator/prometheus")).andExpect(status().isOk()).andReturn()
                .getResponse().getContentAsString();
        for (String metric : List.of("selectune_jobs_total{outcome=\"succeeded\"}", "selectune_queue_depth",
                "selectune_jobs_running", "selectune_job_duration_seconds_bucket", "selectune_training_steps_total",
                "selectune_training_step_duration_seconds_count", "selectune_training_loss{device=\"cpu\"}",
                "selectune_memory_peak_bytes{device=\"cpu\",strategy=\"bp\"}",
                "selectune_memory_peak_bytes{device=\"cpu\",strategy=\"zo\"}",
                "selectune_device_memory_used_bytes{device=\"cpu\"}", "selectune_process_resident_memory_bytes")) {
            assertThat(prometheus).as(metric).contains(metric);
        }
    }

    @Test
    void cancelsARunningJobAndKeepsTheLoraSoFar() throws Exception {
        String id = createJob(spec(200, "bp_low", "\"checkpoint_every\": 0"));
        workers.resumeClaims();
        await(() -> jdbc.queryForObject("select step from jobs where id = ?", Integer.class, id) >= 1);
        mvc.perform(post("/v1/jobs/" + id + "/cancel").header("Authorization", ACME))
                .andExpect(status().isAccepted()).andExpect(matchesOpenApi())
                .andExpect(jsonPath("$.cancel_requested").value(true));
        JsonNode job = awaitStatus(id, "cancelled");
        assertThat(job.at("/progress/step").asInt()).isBetween(1, 199);
        mvc.perform(get("/v1/jobs/" + id + "/artifacts").header("Authorization", ACME))
                .andExpect(jsonPath("$.data[*].name", hasItem("lora.safetensors")));
    }

    /**
     * A worker claims the job, checkpoints after step 2 and dies (no more heartbeats, nothing released). Once its
     * lease expires the reaper requeues the job and the service's worker finishes it from the checkpoint.
     */
    @Test
    void aJobWhoseWorkerDiedIsFinishedByAnotherFromItsCheckpoint(@TempDir Path scratch) throws Exception {
        String id = createJob(spec(3, "bp_low", "\"checkpoint_every\": 1"));
        String doomed = "doomed-worker";
        // A long lease: on a loaded machine loading the model alone may outlast a short one, and the reaper would
        // then take the job from the doomed worker before it writes anything. The test expires it below.
        JobQueue.Lease claimed = queue.claim(doomed, "cpu", Duration.ofMinutes(10)).orElseThrow();
        assertThat(claimed.jobId()).isEqualTo(id);

        JobSpec spec = json.readValue(jdbc.queryForObject("select spec from jobs where id = ?", String.class, id),
                JobSpec.class);
        TrainingConfig config = spec.check().config();
        List<byte[]> imageBytes = new ArrayList<>();
        for (ImageRecord image : images.findByImageSetIdOrderByPosition(spec.imageSetId())) {
            imageBytes.add(blobs.get(image.getBlobKey()).orElseThrow());
        }
        AtomicInteger steps = new AtomicInteger();
        TrainingResult partial = new SelectiveTrainer(Path.of("src/test/resources/golden/tiny-sd15"), Device.cpu())
                .run(imageBytes, config, scratch, r -> {
                    assertThat(queue.step(claimed, r, null)).isTrue();
                    steps.set(r.step());
                }, () -> steps.get() >= 2, new BlobCheckpointStore(blobs, queue, claimed, () -> {
                    throw new AssertionError("the doomed worker's checkpoint was refused");
                }));
        assertThat(partial.stepsDone()).isEqualTo(2);
        // The worker is gone: its lease runs out without a heartbeat.
        jdbc.update("update jobs set lease_expires_at = now() - interval '1 second' where id = ?", id);
        workers.resumeClaims();

        JsonNode job = awaitStatus(id, "succeeded");
        assertThat(job.at("/attempts").asInt()).isEqualTo(2);
        assertThat(job.at("/progress/step").asInt()).isEqualTo(3);
        List<Map<String, Object>> events = jdbc.queryForList(
                "select type, message from job_events where job_id = ? order by id", id);
        assertThat(events).extracting(e -> e.get("type"))
                .containsSubsequence("claimed", "requeued", "claimed", "resumed", "succeeded");
        assertThat(events).anySatisfy(e -> assertThat(e.get("message"))
                .isEqualTo("resumed from checkpoint at step 2 (attempt 2); no step is repeated"));
        assertThat(job.at("/progress/resumed_from_step").asInt()).isEqualTo(2);
        assertThat(jdbc.queryForObject("select count(*) from job_metrics where job_id = ?", Integer.class, id))
                .isEqualTo(3);
        assertThat(queue.checkpointKey(id)).isEmpty();
        assertThat(jdbc.queryForObject("select count(*) from blobs where key like ?", Integer.class,
                BlobCheckpointStore.prefix(id) + "%")).isZero();
    }

    /** Shutdown: the running job is checkpointed and handed back to the queue, then resumed when workers return. */
    @Test
    void aStoppingWorkerCheckpointsAndReleasesItsJob() throws Exception {
        String id = createJob(spec(3, "bp_low", "\"checkpoint_every\": 0"));
        workers.resumeClaims();
        await(() -> jdbc.queryForObject("select step from jobs where id = ?", Integer.class, id) >= 1);
        workers.stop();
        try {
            Map<String, Object> row = jdbc.queryForMap("select status, attempts, checkpoint_step, worker_id from jobs"
                    + " where id = ?", id);
            assertThat(row.get("status")).isEqualTo("queued");
            assertThat(row.get("attempts")).isEqualTo(0);
            assertThat(row.get("worker_id")).isNull();
            assertThat((Integer) row.get("checkpoint_step")).isPositive();
            assertThat(queue.checkpointKey(id).flatMap(blobs::get)).isPresent();
        } finally {
            workers.start();
        }
        JsonNode job = awaitStatus(id, "succeeded");
        assertThat(job.at("/progress/step").asInt()).isEqualTo(3);
        assertThat(jdbc.queryForList("select type from job_events where job_id = ? order by id", String.class, id))
                .containsSubsequence("claimed", "released", "claimed", "resumed", "succeeded");
    }

    private static String spec(int steps, String schedule, String extra) {
        return "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": " + steps
                + ", \"schedule\": \"" + schedule + "\", " + extra + "}";
    }

    private String createJob(String spec) throws Exception {
        MvcResult r = mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .file(TestImages.dogPart(2)).file(TestImages.dogPart(3))
                        .part(new MockPart("spec", null, spec.getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andReturn();
        return JsonPath.read(r.getResponse().getContentAsString(), "$.id");
    }

    private JsonNode awaitStatus(String id, String wanted) throws Exception {
        return awaitStatus(id, wanted, JOB_TIMEOUT);
    }

    private static void await(java.util.function.BooleanSupplier condition) throws InterruptedException {
        await(condition, JOB_TIMEOUT);
    }

    /** The tensor names of a safetensors file: an 8-byte little-endian header length, then the JSON header. */
    private List<String> safetensorsKeys(byte[] file) {
        long n = ByteBuffer.wrap(file, 0, 8).order(ByteOrder.LITTLE_ENDIAN).getLong();
        assertThat(n).isBetween(2L, (long) file.length - 8);
        JsonNode header = json.readTree(new String(file, 8, (int) n, StandardCharsets.UTF_8));
        List<String> keys = new ArrayList<>();
        header.propertyNames().forEach(keys::add);
        return keys;
    }
}
