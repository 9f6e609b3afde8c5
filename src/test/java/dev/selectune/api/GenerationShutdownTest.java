package dev.selectune.api;

import ai.djl.Device;
import com.jayway.jsonpath.JsonPath;
import dev.selectune.generations.GenerationWorker;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockPart;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.multipart;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * A worker that shuts down while it runs a generation (idle, or between two training steps of its job) puts the
 * generation back in the queue with a {@code released} event, without spending an attempt and keeping no images of
 * its own; another worker then makes all the images.
 */
class GenerationShutdownTest extends ServiceTestBase {
    private static final Duration TIMEOUT = Duration.ofMinutes(3);
    /** 2 images of 60 denoising steps at 16x16: seconds on the tiny model, long enough to stop it half-way. */
    private static final String LONG_GENERATION = "{\"base_model\": \"tiny-sd15\", \"prompt\": \"a dog\","
            + " \"steps\": 60, \"n\": 2, \"width\": 16, \"height\": 16, \"seed\": 11}";

    @Autowired
    GenerationWorker generationWorker;

    @Test
    void aGenerationStoppedByShutdownIsQueuedAgainAndFinishesOnAnotherWorker() throws Exception {
        String id = createGeneration();
        workers.resumeClaims();
        try {
            await(() -> step(id) >= 1, TIMEOUT);
            workers.stop();
            assertReleased(id);

            // Another replica's worker takes it and makes every image.
            runOnAnotherWorker();
            Map<String, Object> row = jdbc.queryForMap("select status, attempts, step, total_steps, worker_id"
                    + " from generations where id = ?", id);
            assertThat(row.get("status")).isEqualTo("succeeded");
            assertThat(row.get("worker_id")).isEqualTo("replica-b/cpu");
            assertThat(row.get("attempts")).isEqualTo(1);
            assertThat(row.get("step")).isEqualTo(row.get("total_steps"));
            assertThat(jdbc.queryForObject("select count(*) from generation_images where generation_id = ?",
                    Integer.class, id)).isEqualTo(2);
            assertThat(events(id)).containsSubsequence("queued", "claimed", "released", "claimed", "succeeded");
        } finally {
            workers.start();
        }
    }

    /** The worker runs a job and took a generation after one of its steps: both go back to their queues. */
    @Test
    void aGenerationTakenBetweenTrainingStepsOfAStoppingWorkerIsReleasedToo() throws Exception {
        String job = createJob();
        workers.resumeClaims();
        try {
            await(() -> jdbc.queryForObject("select step from jobs where id = ?", Integer.class, job) >= 1, TIMEOUT);
            String id = createGeneration();
            await(() -> step(id) >= 1, TIMEOUT);
            Map<String, Object> running = jdbc.queryForMap("select status, worker_id from jobs where id = ?", job);
            assertThat(running.get("status")).isEqualTo("running");
            assertThat(jdbc.queryForObject("select worker_id from generations where id = ?", String.class, id))
                    .isEqualTo(running.get("worker_id"));
            workers.stop();

            assertReleased(id);
            assertThat(jdbc.queryForObject("select status from jobs where id = ?", String.class, job))
                    .isEqualTo("queued");
            assertThat(jdbc.queryForList("select type from job_events where job_id = ? order by id", String.class,
                    job)).containsSubsequence("claimed", "released");
            runOnAnotherWorker();
            assertThat(jdbc.queryForObject("select status from generations where id = ?", String.class, id))
                    .isEqualTo("succeeded");
        } finally {
            jdbc.update("update jobs set status = 'cancelled', finished_at = now() where id = ? and status = 'queued'",
                    job);
            workers.start();
        }
    }

    /** Queued again, with no attempt spent, no progress, no worker, no image rows or blobs, and the event. */
    private void assertReleased(String id) {
        Map<String, Object> row = jdbc.queryForMap("select status, attempts, step, worker_id, lease_expires_at"
                + " from generations where id = ?", id);
        assertThat(row.get("status")).isEqualTo("queued");
        assertThat(row.get("attempts")).isEqualTo(0);
        assertThat(row.get("step")).isEqualTo(0);
        assertThat(row.get("worker_id")).isNull();
        assertThat(row.get("lease_expires_at")).isNull();
        assertThat(jdbc.queryForObject("select count(*) from generation_images where generation_id = ?",
                Integer.class, id)).isZero();
        assertThat(jdbc.queryForObject("select count(*) from blobs where key like ?", Integer.class,
                "generations/" + id + "/%")).isZero();
        List<Map<String, Object>> events = jdbc.queryForList("select type, message from generation_events"
                + " where generation_id = ? order by id", id);
        assertThat(events).extracting(e -> e.get("type")).containsSubsequence("queued", "claimed", "released")
                .doesNotContain("failed", "succeeded");
        assertThat(events.get(events.size() - 1).get("message")).asString().contains("is shutting down");
    }

    /**
     * Runs the queued generation on a worker of another replica, on this thread. A claim skips rows another statement
     * holds locked at that instant ({@code FOR UPDATE SKIP LOCKED}; seen once on a busy machine right after the
     * release), and a replica's worker tries again at its next poll: so does this.
     */
    private void runOnAnotherWorker() throws InterruptedException {
        await(() -> generationWorker.runOne("replica-b/cpu", Device.cpu(), () -> false), TIMEOUT);
    }

    private int step(String id) {
        return jdbc.queryForObject("select step from generations where id = ?", Integer.class, id);
    }

    private List<String> events(String id) {
        return jdbc.queryForList("select type from generation_events where generation_id = ? order by id",
                String.class, id);
    }

    private String createGeneration() throws Exception {
        String body = mvc.perform(post("/v1/generations").header("Authorization", ACME)
                        .contentType(MediaType.APPLICATION_JSON).content(LONG_GENERATION))
                .andExpect(status().isCreated()).andReturn().getResponse().getContentAsString();
        return JsonPath.read(body, "$.id");
    }

    private String createJob() throws Exception {
        String spec = "{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", \"steps\": 300,"
                + " \"schedule\": \"bp_low\", \"checkpoint_every\": 0}";
        String body = mvc.perform(multipart("/v1/jobs").file(TestImages.dogPart(0)).file(TestImages.dogPart(1))
                        .part(new MockPart("spec", null, spec.getBytes(StandardCharsets.UTF_8),
                                MediaType.APPLICATION_JSON))
                        .header("Authorization", ACME))
                .andExpect(status().isCreated()).andReturn().getResponse().getContentAsString();
        return JsonPath.read(body, "$.id");
    }
}
