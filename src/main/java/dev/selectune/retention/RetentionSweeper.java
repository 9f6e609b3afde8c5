package dev.selectune.retention;

import dev.selectune.config.SelectuneProperties;
import dev.selectune.generations.GenerationService;
import dev.selectune.jobs.JobService;
import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.RequestRejected;
import dev.selectune.webhooks.Webhooks;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.scheduling.annotation.Scheduled;
import org.springframework.stereotype.Component;

import java.sql.Timestamp;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.stream.Collectors;

/**
 * Deletes what is kept for a limited time once it is older than {@code selectune.retention.*}: finished jobs, image
 * sets no job uses, finished generations, and delivered or failed webhook deliveries. Jobs, image sets and
 * generations go through the same code as the DELETE endpoints (rows in one transaction, their blobs after it
 * commits); a job's or generation's webhook target and deliveries go with its row (on delete cascade, V30). It lives
 * in a package of its own because it sees both {@code jobs} and {@code generations}, which do not see each other.
 *
 * <p>Off for what has no retention set. Each kind is deleted in batches until none older is left, so a backlog
 * clears in one sweep. Every replica sweeps; two sweeping the same row is harmless (the second finds it gone).
 */
@Component
public class RetentionSweeper {
    private static final Logger log = LoggerFactory.getLogger(RetentionSweeper.class);
    private static final int BATCH = 100;
    /** Deliveries go in one statement per batch (no blobs), so in larger batches. */
    private static final int DELIVERY_BATCH = 1000;
    /** {@code ('succeeded', 'failed', 'cancelled')}, from the enum. */
    private static final String FINISHED = JobStatus.FINISHED.stream().map(s -> "'" + s.wireName() + "'")
            .collect(Collectors.joining(", ", "(", ")"));

    /** What one sweep deleted. */
    public record Swept(int jobs, int imageSets, int generations, int webhookDeliveries) {
    }

    private final JdbcTemplate jdbc;
    private final JobService jobService;
    private final GenerationService generationService;
    private final Webhooks webhooks;
    private final SelectuneProperties.Retention retention;

    @Autowired
    public RetentionSweeper(JdbcTemplate jdbc, JobService jobService, GenerationService generationService,
                            Webhooks webhooks, SelectuneProperties props) {
        this(jdbc, jobService, generationService, webhooks, props.retention());
    }

    /** With explicit retentions (null keeps forever), for tests. */
    RetentionSweeper(JdbcTemplate jdbc, JobService jobService, GenerationService generationService,
                     Webhooks webhooks, SelectuneProperties.Retention retention) {
        this.jdbc = jdbc;
        this.jobService = jobService;
        this.generationService = generationService;
        this.webhooks = webhooks;
        this.retention = retention;
    }

    @Scheduled(fixedDelayString = "${selectune.retention.sweep-every:PT1H}", initialDelayString = "PT1M")
    public void tick() {
        try {
            sweep(Instant.now());
        } catch (RuntimeException e) {
            log.warn("retention sweep failed: {}", e.toString());
        }
    }

    /** One sweep as of {@code now}; jobs go first, so an image set whose last job expires goes in the same sweep. */
    public Swept sweep(Instant now) {
        int jobs = retention.jobs() == null ? 0 : deleteExpired("job", """
                select id, tenant from jobs where status in %s and finished_at < ?
                order by finished_at limit ?""".formatted(FINISHED), now.minus(retention.jobs()),
                jobService::deleteJob);
        int generations = retention.generations() == null ? 0 : deleteExpired("generation", """
                select id, tenant from generations where status in %s and finished_at < ?
                order by finished_at limit ?""".formatted(FINISHED), now.minus(retention.generations()),
                generationService::delete);
        int imageSets = retention.imageSets() == null ? 0 : deleteExpired("image set", """
                select s.id, s.tenant from image_sets s where s.created_at < ?
                and not exists (select 1 from jobs j where j.image_set_id = s.id)
                order by s.created_at limit ?""", now.minus(retention.imageSets()), jobService::deleteImageSet);
        int deliveries = 0;
        if (retention.webhookDeliveries() != null) {
            Instant before = now.minus(retention.webhookDeliveries());
            int n;
            do {
                n = webhooks.deleteFinishedDeliveries(before, DELIVERY_BATCH);
                deliveries += n;
            } while (n == DELIVERY_BATCH);
            if (deliveries > 0) {
                log.info("retention: deleted {} webhook deliveries finished before {}", deliveries, before);
            }
        }
        return new Swept(jobs, imageSets, generations, deliveries);
    }

    /**
     * Deletes, a batch at a time, the rows {@code query} (parameters: the cutoff and the batch size) returns; stops
     * at a short batch, or at one where nothing could be deleted.
     */
    private int deleteExpired(String what, String query, Instant cutoff, BiConsumer<String, String> deletion) {
        int total = 0;
        while (true) {
            List<Map<String, Object>> rows = jdbc.queryForList(query, Timestamp.from(cutoff), BATCH);
            int deleted = delete(rows, deletion, what);
            total += deleted;
            if (rows.size() < BATCH || deleted == 0) {
                return total;
            }
        }
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
