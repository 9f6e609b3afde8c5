package dev.selectune.config;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.nio.file.Path;
import java.time.Duration;

/**
 * Every {@code selectune.*} setting (environment variables use the relaxed form, e.g. {@code SELECTUNE_MODELS}).
 *
 * @param models   comma-separated {@code name=folder} diffusers pipeline folders the service can train
 * @param dataDir  the embedded database ({@code postgres/}) and the workers' scratch space ({@code work/})
 * @param apiKeys  comma-separated {@code tenant:key} pairs seeded at start (compose files, Kubernetes secrets)
 * @param devices  {@code auto} (every GPU DJL sees, else the CPU) or a list such as {@code gpu0,gpu1} or {@code cpu}
 * @param evalModels {@code clip=folder,dino=folder}: the evaluator models (Hugging Face CLIPModel and DINO ViTModel
 *                   folders) that score jobs asking for {@code evaluation}; empty for none
 */
@ConfigurationProperties("selectune")
public record SelectuneProperties(String models, Path dataDir, String apiKeys, String devices, Auth auth,
                                  Workers workers, Uploads uploads, Blobs blobs, Retention retention,
                                  String evalModels) {

    public SelectuneProperties {
        models = models == null ? "" : models;
        dataDir = dataDir == null ? Path.of(System.getProperty("user.home"), ".selectune") : dataDir;
        apiKeys = apiKeys == null ? "" : apiKeys;
        devices = devices == null || devices.isBlank() ? "auto" : devices;
        auth = auth == null ? new Auth(true) : auth;
        workers = workers == null ? new Workers(true, null, null, null, 0, null) : workers;
        uploads = uploads == null ? new Uploads(0, 0, 0, 0, 0, 0, 0, null) : uploads;
        blobs = blobs == null ? new Blobs(null, null, null, null, null, null, null) : blobs;
        retention = retention == null ? new Retention(null, null, null, null) : retention;
        evalModels = evalModels == null ? "" : evalModels;
    }

    /**
     * How long finished jobs, unused image sets, finished generations and finished webhook deliveries are kept;
     * unset (the default) keeps them until deleted through the API. How often each replica looks,
     * {@code selectune.retention.sweep-every} (one hour), is read by {@code RetentionSweeper}'s schedule.
     *
     * @param jobs              a succeeded, failed or cancelled job (with its artifacts) is deleted this long after it
     *                          finished
     * @param imageSets         an image set that no job uses is deleted this long after it was uploaded
     * @param generations       a finished generation (with its images) is deleted this long after it finished; unset
     *                          means the same as {@code jobs}
     * @param webhookDeliveries a delivered or failed webhook delivery (with its attempts) is deleted this long after
     *                          it finished, even while its job or generation is kept; unset means the same as
     *                          {@code jobs}
     */
    public record Retention(Duration jobs, Duration imageSets, Duration generations, Duration webhookDeliveries) {
        public Retention {
            generations = generations == null ? jobs : generations;
            webhookDeliveries = webhookDeliveries == null ? jobs : webhookDeliveries;
        }
    }

    /** @param enabled false only for a local single-user setup; the service logs a loud warning then */
    public record Auth(boolean enabled) {
    }

    /**
     * @param enabled      false on API-only replicas
     * @param lease        how long a claim lasts without a heartbeat; a job whose lease expired is taken over
     * @param heartbeat    how often a running job's lease is renewed (and its cancellation flag read)
     * @param poll         how often an idle worker looks for a queued job, and the reaper for expired leases
     * @param maxAttempts  claims a job may take before a lost worker fails it
     * @param scratch      where jobs write their output before it is stored; default {@code data-dir/work}
     */
    public record Workers(boolean enabled, Duration lease, Duration heartbeat, Duration poll, int maxAttempts,
                          Path scratch) {
        public Workers {
            lease = lease == null ? Duration.ofSeconds(60) : lease;
            heartbeat = heartbeat == null ? Duration.ofSeconds(10) : heartbeat;
            poll = poll == null ? Duration.ofSeconds(2) : poll;
            maxAttempts = maxAttempts <= 0 ? 3 : maxAttempts;
        }
    }

    /**
     * @param maxFileBytes    largest accepted image
     * @param maxRequestBytes largest sum of the images of one request
     * @param maxImages       most images in one set
     * @param minSide         smallest accepted image side in an image set (jobs also need the model's low resolution)
     * @param maxSide         largest accepted side, read from the header before any pixel is decoded
     * @param maxPixels       most pixels (width times height) of an accepted image, read from the header too: a
     *                        522 KB PNG can hold 8192 x 8192 16-bit RGBA pixels, 512 MiB decoded
     * @param decodeBudget    bytes that all uploads' decodes together may hold (each reserves its estimate first)
     * @param decodeWait      how long an upload waits for decode budget before a 503 with Retry-After
     */
    public record Uploads(long maxFileBytes, long maxRequestBytes, int maxImages, int minSide, int maxSide,
                          long maxPixels, long decodeBudget, Duration decodeWait) {
        public Uploads {
            maxPixels = maxPixels <= 0 ? 50_000_000L : maxPixels;
            decodeBudget = decodeBudget <= 0 ? 512L << 20 : decodeBudget;
            decodeWait = decodeWait == null ? Duration.ofSeconds(30) : decodeWait;
            maxFileBytes = maxFileBytes <= 0 ? 20L << 20 : maxFileBytes;
            maxRequestBytes = maxRequestBytes <= 0 ? 200L << 20 : maxRequestBytes;
            maxImages = maxImages <= 0 ? 50 : maxImages;
            minSide = minSide <= 0 ? 64 : minSide;
            maxSide = maxSide <= 0 ? 8192 : maxSide;
        }
    }

    /**
     * @param store {@code postgres} (default: bytea rows in the service's database) or {@code s3}
     */
    public record Blobs(String store, String s3Endpoint, String s3Bucket, String s3Region, String s3AccessKey,
                        String s3SecretKey, String s3Prefix) {
        public Blobs {
            store = store == null ? "postgres" : store;
            s3Region = s3Region == null ? "us-east-1" : s3Region;
            s3Prefix = s3Prefix == null ? "" : s3Prefix;
        }
    }
}
