package dev.selectune.jobs;

import dev.selectune.config.SelectuneProperties;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;

/**
 * Deletes finished jobs and unused image sets once they are older than {@code selectune.retention.*}, through the
 * same code as the DELETE endpoints (rows and blobs). Off unless a retention is set. Every replica sweeps; two
 * sweeping the same row is harmless (the second finds it gone).
 */
@Component
public class RetentionSweeper {
    private static final Logger log = LoggerFactory.getLogger(RetentionSweeper.class);
    private static final int BATCH = 100;

    private final JdbcTemplate jdbc;
    private final JobService service;
    private final Duration jobs;
    private final Duration imageSets;

    @Autowired
    public RetentionSweeper(JdbcTemplate jdbc, JobService service, SelectuneProperties props) {
        this(jdbc, service, props.retention().jobs(), props.retention().imageSets());
    }

    /** With explicit retentions (null keeps forever), for tests. */
    RetentionSweeper(JdbcTemplate jdbc, JobService service, Duration jobs, Duration imageSets) {
        this.jdbc = jdbc;
        this.service = service;
        this.jobs = jobs;
        this.imageSets = imageSets;
    }

    @Scheduled(fixedDelayString = "${selectune.retention.sweep-every:PT1H}", initialDelayString = "PT1M")
    public void tick() {
        try {
            sweep(Instant.now());
        } catch (RuntimeException e) {
            log.warn("retention sweep failed: {}", e.toString());
        }
    }

    /** One sweep as of {@code now}; returns how many jobs and image sets it deleted. */
    public int sweep(Instant now) {
        int deleted = 0;
        if (jobs != null) {
            List<Map<String, Object>> expired = jdbc.queryForList("""
                    select id, tenant from jobs where status in %s
                    and finished_at < ? order by finished_at limit ?""".formatted(Sql.in(JobStatus.FINISHED)),
                    Timestamp.from(now.minus(jobs)), BATCH);
            deleted += delete(expired, service::deleteJob, "job");
        }
        if (imageSets != null) {
            List<Map<String, Object>> expired = jdbc.queryForList("""
                    select s.id, s.tenant from image_sets s where s.created_at < ?
                    and not exists (select 1 from jobs j where j.image_set_id = s.id)
                    order by s.created_at limit ?""", Timestamp.from(now.minus(imageSets)), BATCH);
            deleted += delete(expired, service::deleteImageSet, "image set");
        }
        return deleted;
    }

    private static int delete(List<Map<String, Object>> rows, BiConsumer<String, String> deletion, String what) {
        int deleted = 0;
        for (Map<String, Object> row : rows) {
            String id = (String) row.get("id");
            try {
                deletion.accept((String) row.get("tenant"), id);
                deleted++;
                log.info("retention: deleted {} {}", what, id);
            } catch (RequestRejected e) {
                // Another replica deleted it, or a job started using the set since the query: skip it.
                log.debug("retention: kept {} {}: {}", what, id, e.getMessage());
            }
        }
        return deleted;
    }
}
