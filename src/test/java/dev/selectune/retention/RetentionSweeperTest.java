package dev.selectune.retention;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.api.TestImages;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.generations.GenerationService;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobSpec;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import dev.selectune.webhooks.Webhooks;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Retention deletes finished jobs, unused image sets, finished generations (rows and blobs) and finished webhook
 * deliveries older than the settings, with the webhook rows of what it deletes, and nothing else.
 */
class RetentionSweeperTest extends ServiceTestBase {
    private static final Duration DAYS_30 = Duration.ofDays(30);

    @Autowired
    private JobService service;
    @Autowired
    private GenerationService generations;
    @Autowired
    private Webhooks webhooks;
    @Autowired
    private BlobStore blobs;
    @Autowired
    private JsonMapper json;

    private RetentionSweeper sweeper(Duration jobs, Duration imageSets, Duration generations, Duration deliveries) {
        return new RetentionSweeper(jdbc, service, this.generations, webhooks,
                new SelectuneProperties.Retention(jobs, imageSets, generations, deliveries));
    }

    @Test
    void deletesOnlyExpiredFinishedJobsAndExpiredUnusedImageSets() {
        Instant now = Instant.now();
        Instant old = now.minus(Duration.ofDays(40));
        String unusedOld = imageSet(old);
        String usedOld = imageSet(old);
        String unusedNew = imageSet(now);
        String expiredJob = finishedJob(usedOld, old);
        String recentJob = finishedJob(usedOld, now);
        String runningJob = service.createJob("acme", spec(usedOld), null, List.of()).job().getId();
        jdbc.update("update jobs set status = 'running', created_at = ? where id = ?", Timestamp.from(old), runningJob);

        try {
            RetentionSweeper.Swept swept = sweeper(DAYS_30, DAYS_30, null, null).sweep(now);
            assertThat(swept.jobs()).isEqualTo(1);
            assertThat(swept.imageSets()).isEqualTo(1);

            assertThat(exists("jobs", expiredJob)).isFalse();
            assertThat(exists("jobs", recentJob)).isTrue();
            assertThat(exists("jobs", runningJob)).isTrue();
            assertThat(exists("image_sets", unusedOld)).isFalse();
            assertThat(exists("image_sets", usedOld)).isTrue();
            assertThat(exists("image_sets", unusedNew)).isTrue();
            assertThat(blobCount("image-sets/" + unusedOld + "/")).isZero();
        } finally {
            jdbc.update("update jobs set status = 'cancelled', finished_at = now() where id = ?", runningJob);
        }
    }

    /** A job's webhook target, deliveries and their attempts go with the job, whoever deletes it. */
    @Test
    void aJobsWebhookDeliveriesGoWithTheJob() {
        Instant now = Instant.now();
        Instant old = now.minus(Duration.ofDays(40));
        String set = imageSet(now);
        String expiredJob = finishedJob(set, old);
        String deletedJob = finishedJob(set, now);
        List<String> expiredDeliveries = webhookOf("job", expiredJob, now);
        List<String> deletedDeliveries = webhookOf("job", deletedJob, now);

        assertThat(sweeper(DAYS_30, null, null, null).sweep(now).jobs()).isEqualTo(1);
        service.deleteJob("acme", deletedJob);

        for (String job : List.of(expiredJob, deletedJob)) {
            assertThat(exists("jobs", job)).isFalse();
            assertThat(count("webhook_targets", "subject_id", job)).isZero();
            assertThat(count("webhook_deliveries", "subject_id", job)).isZero();
        }
        for (String delivery : concat(expiredDeliveries, deletedDeliveries)) {
            assertThat(count("webhook_attempts", "delivery_id", delivery)).isZero();
        }
    }

    /**
     * An old finished generation goes with its images (rows and blobs), events and webhook rows; a recent one, and
     * one still running however old, stay with theirs.
     */
    @Test
    void deletesExpiredFinishedGenerationsWithTheirImagesEventsAndDeliveries() {
        Instant now = Instant.now();
        Instant old = now.minus(Duration.ofDays(40));
        String expired = generation("succeeded", old, old);
        String recent = generation("succeeded", old, now);
        String running = generation("running", old, null);
        List<String> expiredDeliveries = webhookOf("generation", expired, old);
        webhookOf("generation", recent, now);
        webhookOf("generation", running, now);

        try {
            RetentionSweeper.Swept swept = sweeper(DAYS_30, DAYS_30, DAYS_30, DAYS_30).sweep(now);
            assertThat(swept.generations()).isEqualTo(1);

            assertThat(exists("generations", expired)).isFalse();
            assertThat(count("generation_images", "generation_id", expired)).isZero();
            assertThat(count("generation_events", "generation_id", expired)).isZero();
            assertThat(blobCount(generationBlobs(expired))).isZero();
            assertThat(count("webhook_targets", "subject_id", expired)).isZero();
            assertThat(count("webhook_deliveries", "subject_id", expired)).isZero();
            for (String delivery : expiredDeliveries) {
                assertThat(count("webhook_attempts", "delivery_id", delivery)).isZero();
            }
            for (String kept : List.of(recent, running)) {
                assertThat(exists("generations", kept)).isTrue();
                assertThat(count("generation_images", "generation_id", kept)).isEqualTo(2);
                assertThat(blobCount(generationBlobs(kept))).isEqualTo(2);
                assertThat(count("generation_events", "generation_id", kept)).isEqualTo(1);
                assertThat(count("webhook_targets", "subject_id", kept)).isEqualTo(1);
                assertThat(count("webhook_deliveries", "subject_id", kept)).isEqualTo(3);
            }
        } finally {
            jdbc.update("update generations set status = 'cancelled', finished_at = now() where id = ?", running);
        }
    }

    /**
     * The delivery rule: a delivered or failed delivery goes once it finished longer ago than the retention, even while
     * its subject stays; a pending one stays whatever its age.
     */
    @Test
    void deletesOldFinishedDeliveriesOfSubjectsThatStay() {
        Instant now = Instant.now();
        Instant old = now.minus(Duration.ofDays(40));
        String job = finishedJob(imageSet(now), now);
        String oldDelivered = delivery("job", job, "delivered", old);
        String oldFailed = delivery("job", job, "failed", old);
        String oldPending = delivery("job", job, "pending", old);
        String recentDelivered = delivery("job", job, "delivered", now);

        RetentionSweeper.Swept swept = sweeper(null, null, null, DAYS_30).sweep(now);

        assertThat(swept.jobs()).isZero();
        assertThat(exists("jobs", job)).isTrue();
        assertThat(exists("webhook_deliveries", oldDelivered)).isFalse();
        assertThat(count("webhook_attempts", "delivery_id", oldDelivered)).isZero();
        assertThat(exists("webhook_deliveries", oldFailed)).isFalse();
        assertThat(exists("webhook_deliveries", oldPending)).isTrue();
        assertThat(exists("webhook_deliveries", recentDelivered)).isTrue();
        jdbc.update("update webhook_deliveries set status = 'failed', finished_at = now() where id = ?", oldPending);
    }

    @Test
    void generationsAndDeliveriesKeepTheJobsRetentionUnlessSetApart() {
        Duration d = Duration.ofDays(9);
        var same = new SelectuneProperties.Retention(d, null, null, null);
        assertThat(same.generations()).isEqualTo(d);
        assertThat(same.webhookDeliveries()).isEqualTo(d);
        var apart = new SelectuneProperties.Retention(d, null, Duration.ofDays(1), Duration.ofDays(2));
        assertThat(apart.generations()).isEqualTo(Duration.ofDays(1));
        assertThat(apart.webhookDeliveries()).isEqualTo(Duration.ofDays(2));
        assertThat(new SelectuneProperties.Retention(null, null, null, null).generations()).isNull();
    }

    private String imageSet(Instant createdAt) {
        String id = service.createImageSet("acme", List.of(TestImages.newImage(0))).getId();
        jdbc.update("update image_sets set created_at = ? where id = ?", Timestamp.from(createdAt), id);
        return id;
    }

    private String finishedJob(String imageSet, Instant finishedAt) {
        String id = service.createJob("acme", spec(imageSet), null, List.of()).job().getId();
        jdbc.update("update jobs set status = 'cancelled', finished_at = ? where id = ?", Timestamp.from(finishedAt),
                id);
        return id;
    }

    /**
     * A generation of tenant acme as the worker leaves it: two images (rows and blobs) and one event; running ones
     * under a lease far ahead, so the reaper leaves them alone.
     */
    private String generation(String status, Instant createdAt, Instant finishedAt) {
        String id = "gen_" + Hashes.sha256Hex(status + System.nanoTime()).substring(0, 24);
        jdbc.update("""
                insert into generations (id, tenant, base_model, request, status, max_attempts, worker_id,
                                         lease_expires_at, image_count, step, total_steps, seed, created_at,
                                         finished_at)
                values (?, 'acme', 'tiny-sd15', '{}', ?, 3, 'elsewhere/cpu',
                        case when ? = 'running' then now() + interval '1 hour' end, 2, 2, 2, 7, ?, ?)""",
                id, status, status, Timestamp.from(createdAt), finishedAt == null ? null : Timestamp.from(finishedAt));
        for (int i = 0; i < 2; i++) {
            byte[] png = ("png " + id + " " + i).getBytes(StandardCharsets.UTF_8);
            String key = generationBlobs(id) + "g1/image-" + i + ".png";
            blobs.put(key, png);
            jdbc.update("""
                    insert into generation_images (generation_id, position, name, seed, width, height, blob_key,
                                                   content_type, size_bytes, sha256)
                    values (?, ?, ?, ?, 16, 16, ?, 'image/png', ?, ?)""", id, i, "image-" + i + ".png", 7 + i, key,
                    png.length, Hashes.sha256Hex(png));
        }
        jdbc.update("insert into generation_events (generation_id, level, type, message) values (?, 'info', ?, ?)",
                id, status, status);
        return id;
    }

    /** A webhook target and three delivered deliveries (each with an attempt) of the subject; the delivery ids. */
    private List<String> webhookOf(String kind, String subject, Instant finishedAt) {
        jdbc.update("insert into webhook_targets (kind, subject_id, tenant, url, events) values (?, ?, 'acme',"
                + " 'https://example.com/hook', 'start,progress,completed')", kind, subject);
        return List.of(delivery(kind, subject, "delivered", finishedAt), delivery(kind, subject, "delivered",
                finishedAt), delivery(kind, subject, "delivered", finishedAt));
    }

    /** A delivery with one attempt; a pending one is due only in a day, so no dispatcher takes it meanwhile. */
    private String delivery(String kind, String subject, String status, Instant at) {
        String id = "msg_test" + dev.selectune.config.Ids.random(16);
        boolean pending = status.equals("pending");
        jdbc.update("""
                insert into webhook_deliveries (id, kind, subject_id, tenant, event, url, body, status, attempts,
                                                next_attempt_at, created_at, finished_at)
                values (?, ?, ?, 'acme', 'completed', 'https://example.com/hook', '{}', ?, 1, ?, ?, ?)""",
                id, kind, subject, status, pending ? Timestamp.from(Instant.now().plus(Duration.ofDays(1))) : null,
                Timestamp.from(at), pending ? null : Timestamp.from(at));
        jdbc.update("insert into webhook_attempts (delivery_id, attempt, dispatcher, started_at, finished_at,"
                + " status_code) values (?, 1, 'test', ?, ?, 204)", id, Timestamp.from(at), Timestamp.from(at));
        return id;
    }

    private JobSpec spec(String imageSet) {
        return json.readValue("{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", "
                + "\"steps\": 2, \"seed\": 7, \"image_set_id\": \"" + imageSet + "\"}", JobSpec.class);
    }

    private boolean exists(String table, String id) {
        return count(table, "id", id) == 1;
    }

    private long count(String table, String column, String value) {
        return jdbc.queryForObject("select count(*) from " + table + " where " + column + " = ?", Long.class, value);
    }

    private long blobCount(String prefix) {
        return jdbc.queryForObject("select count(*) from blobs where key like ?", Long.class, prefix + "%");
    }

    private static List<String> concat(List<String> a, List<String> b) {
        return java.util.stream.Stream.concat(a.stream(), b.stream()).toList();
    }

    /** Where GenerationService keeps a generation's blobs. */
    private static String generationBlobs(String id) {
        return "generations/" + id + "/";
    }
}
