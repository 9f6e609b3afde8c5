package dev.selectune.jobs;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.api.TestImages;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import tools.jackson.databind.json.JsonMapper;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;

import static org.assertj.core.api.Assertions.assertThat;

/** Retention deletes finished jobs and unused image sets older than the settings, and nothing else. */
class RetentionSweeperTest extends ServiceTestBase {
    @Autowired
    private JobService service;
    @Autowired
    private JsonMapper json;

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

        RetentionSweeper sweeper = new RetentionSweeper(jdbc, service, Duration.ofDays(30), Duration.ofDays(30));
        assertThat(sweeper.sweep(now)).isEqualTo(2);

        assertThat(exists("jobs", expiredJob)).isFalse();
        assertThat(exists("jobs", recentJob)).isTrue();
        assertThat(exists("jobs", runningJob)).isTrue();
        assertThat(exists("image_sets", unusedOld)).isFalse();
        assertThat(exists("image_sets", usedOld)).isTrue();
        assertThat(exists("image_sets", unusedNew)).isTrue();
        assertThat(jdbc.queryForObject("select count(*) from blobs where key like ?", Long.class,
                "image-sets/" + unusedOld + "/%")).isZero();
        jdbc.update("update jobs set status = 'cancelled', finished_at = now() where id = ?", runningJob);
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

    private JobSpec spec(String imageSet) {
        return json.readValue("{\"base_model\": \"tiny-sd15\", \"instance_prompt\": \"a photo of sks dog\", "
                + "\"steps\": 2, \"seed\": 7, \"image_set_id\": \"" + imageSet + "\"}", JobSpec.class);
    }

    private boolean exists(String table, String id) {
        return jdbc.queryForObject("select count(*) from " + table + " where id = ?", Long.class, id) == 1;
    }
}
