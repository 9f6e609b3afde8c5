package dev.selectune.jobs;

import dev.selectune.config.Ids;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.storage.BlobStore;
import dev.selectune.training.TrainingConfig;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.Limit;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.Supplier;

/**
 * Creating image sets and jobs. Each request is one transaction: the image rows, their blobs (in the default
 * Postgres store) and the job row commit together or not at all, so a rejected request leaves nothing behind.
 */
@Service
public class JobService {
    private static final java.security.SecureRandom SEEDS = new java.security.SecureRandom();
    private final JobRepository jobs;
    private final ImageSetRepository imageSets;
    private final ImageRecordRepository images;
    private final JobQueue queue;
    private final BlobStore blobs;
    private final ModelRegistry models;
    private final SelectuneProperties props;
    private final JsonMapper json;
    private final TransactionTemplate tx;
    private final EvaluatorRegistry evaluators;

    public JobService(JobRepository jobs, ImageSetRepository imageSets, ImageRecordRepository images, JobQueue queue,
                      BlobStore blobs, ModelRegistry models, SelectuneProperties props, JsonMapper json,
                      TransactionTemplate tx, EvaluatorRegistry evaluators) {
        this.jobs = jobs;
        this.imageSets = imageSets;
        this.images = images;
        this.queue = queue;
        this.blobs = blobs;
        this.models = models;
        this.props = props;
        this.json = json;
        this.tx = tx;
        this.evaluators = evaluators;
    }

    @Transactional
    public ImageSet createImageSet(String tenant, List<NewImage> uploads) {
        return storeImageSet(tenant, uploads);
    }

    /** Must run in a transaction: the blobs it writes are deleted again if that transaction does not commit. */
    private ImageSet storeImageSet(String tenant, List<NewImage> uploads) {
        String id = Ids.imageSet();
        String prefix = "image-sets/" + id + "/";
        // The blob store is not part of the database transaction: without this, a rollback after the puts (a bad
        // image further on, a failed job insert) would leave the set's objects behind with no row pointing at them.
        TransactionSynchronizationManager.registerSynchronization(new TransactionSynchronization() {
            @Override
            public void afterCompletion(int status) {
                if (status != STATUS_COMMITTED) {
                    blobs.deletePrefix(prefix);
                }
            }
        });
        long total = uploads.stream().mapToLong(u -> u.bytes().length).sum();
        ImageSet set = imageSets.save(new ImageSet(id, tenant, uploads.size(), total));
        for (int i = 0; i < uploads.size(); i++) {
            NewImage u = uploads.get(i);
            String key = prefix + i;
            blobs.put(key, u.bytes());
            images.save(new ImageRecord(id, i, key, u.filename(), u.info().format(), u.info().width(),
                    u.info().height(), u.bytes().length, u.sha256()));
        }
        return set;
    }

    public record Created(Job job, boolean replayed) {
    }

    /**
     * Creates a job from a spec and either its {@code image_set_id} or freshly uploaded images. With an
     * {@code idempotencyKey} already used by this tenant for the same request, the first job is returned instead of
     * a second one; used for a different request, it is refused (422, nothing stored).
     */
    public Created createJob(String tenant, JobSpec spec, String idempotencyKey, List<NewImage> uploads) {
        String fingerprint = idempotencyKey == null ? null
                : fingerprint(spec, uploads.stream().map(NewImage::sha256).toList());
        if (idempotencyKey != null) {
            Optional<Created> replay = replay(tenant, idempotencyKey, () -> fingerprint);
            if (replay.isPresent()) {
                return replay.get();
            }
        }
        JobSpec.Checked checked = spec.check();
        List<String> problems = new ArrayList<>(checked.problems());
        Optional<ModelRegistry.Model> model = models.find(spec.baseModel());
        if (spec.baseModel() == null || spec.baseModel().isBlank()) {
            problems.add("base_model: required (see GET /v1/models)");
        } else if (model.isEmpty()) {
            problems.add("base_model: unknown base model '" + spec.baseModel() + "' (available: "
                    + String.join(", ", models.all().stream().map(ModelRegistry.Model::name).toList()) + ")");
        }
        boolean hasSet = spec.imageSetId() != null;
        if (hasSet == !uploads.isEmpty()) {
            problems.add(hasSet ? "images: give image_set_id or upload images, not both"
                    : "image_set_id: required (or upload 'images' parts with a 'spec' part)");
        }
        if (spec.evaluation() != null && !evaluators.available()) {
            problems.add("evaluation: this service has no evaluator models; ask without 'evaluation', or configure"
                    + " SELECTUNE_EVAL_MODELS=clip=<CLIP folder>,dino=<DINO folder> (see GET /v1/models)");
        }
        if (!problems.isEmpty()) {
            throw RequestRejected.invalid("the job spec has " + problems.size() + " problem(s)", problems);
        }
        TrainingConfig config = withSeed(checked.config());
        List<int[]> sizes = hasSet
                ? images.findByImageSetIdOrderByPosition(requireImageSet(tenant, spec.imageSetId()).getId()).stream()
                        .map(i -> new int[] {i.getWidth(), i.getHeight()}).toList()
                : uploads.stream().map(u -> new int[] {u.info().width(), u.info().height()}).toList();
        checkLowResolution(model.get(), config, sizes);
        try {
            return tx.execute(status -> {
                String setId = hasSet ? spec.imageSetId() : storeImageSet(tenant, uploads).getId();
                JobSpec resolved = spec.resolved(config, setId);
                Job job = jobs.saveAndFlush(new Job(Ids.job(), tenant, setId, spec.baseModel(),
                        json.writeValueAsString(resolved),
                        spec.metadata() == null ? null : json.writeValueAsString(spec.metadata()), idempotencyKey,
                        fingerprint, config.steps(), props.workers().maxAttempts(), config.seed()));
                queue.event(job.getId(), "info", "queued", "job created for base model " + spec.baseModel()
                        + " with " + sizes.size() + " image(s), " + config.steps() + " steps, schedule "
                        + config.schedule().wireName());
                return new Created(job, false);
            });
        } catch (DataIntegrityViolationException e) {
            // Two requests with the same Idempotency-Key raced; the other one won and its job is the answer.
            if (idempotencyKey != null) {
                return replay(tenant, idempotencyKey, () -> fingerprint).orElseThrow(() -> e);
            }
            throw e;
        }
    }

    /**
     * A job without a seed gets one here rather than from the trainer: a job resumed by another worker must draw
     * the same noise and timesteps, and the trainer accepts a checkpoint only from a run with the same seed.
     */
    private static TrainingConfig withSeed(TrainingConfig config) {
        return config.seed() != null ? config : config.toBuilder().seed(SEEDS.nextLong() & Long.MAX_VALUE).build();
    }

    public ImageSet requireImageSet(String tenant, String id) {
        return imageSets.findByIdAndTenant(id, tenant).orElseThrow(() -> new RequestRejected(404, "not-found",
                "Not Found", "image set " + id + " does not exist",
                List.of(new RequestRejected.FieldError("image_set_id", "no such image set"))));
    }

    /** Every image must be at least the model's low (BP) resolution on its short side, or BP-low would upsample. */
    private static void checkLowResolution(ModelRegistry.Model model, TrainingConfig config, List<int[]> sizes) {
        int high = config.resolution() != null ? config.resolution() : model.info().nativeResolution();
        int low = (int) Math.round(high * config.resizeRatio());
        List<String> problems = new ArrayList<>();
        for (int i = 0; i < sizes.size(); i++) {
            int[] s = sizes.get(i);
            if (Math.min(s[0], s[1]) < low) {
                problems.add("images[" + i + "]: " + s[0] + "x" + s[1] + " px is smaller than the low resolution "
                        + low + " px of " + model.name());
            }
        }
        if (!problems.isEmpty()) {
            throw RequestRejected.invalid("images too small for this model", problems);
        }
    }

    /**
     * The job an earlier request with this Idempotency-Key created, if the request was the same (the multipart path
     * asks before it validates the images again).
     *
     * @param fingerprint this request's {@link #fingerprint}, asked for only when the key has been used before (the
     *                    multipart path then hashes the uploads, which a first request need not)
     * @throws RequestRejected 422 {@code idempotency-key-reused} when the key was used for a different request
     */
    public Optional<Created> replay(String tenant, String idempotencyKey, Supplier<String> fingerprint) {
        return jobs.findByTenantAndIdempotencyKey(tenant, idempotencyKey).map(earlier -> {
            String first = earlier.getIdempotencyFingerprint();
            if (first != null && !first.equals(fingerprint.get())) {
                String message = "already used for job " + earlier.getId() + " with a different request (spec or "
                        + "images); send a new key for a new request";
                throw new RequestRejected(422, "idempotency-key-reused", "Idempotency-Key reused",
                        "Idempotency-Key '" + idempotencyKey + "' " + message,
                        List.of(new RequestRejected.FieldError("Idempotency-Key", message)));
            }
            return new Created(earlier, true);
        });
    }

    /**
     * What a create request asks for, for its Idempotency-Key: SHA-256 over the spec as parsed (so whitespace and
     * field order do not count) and the SHA-256 of each uploaded image, in order.
     */
    public String fingerprint(JobSpec spec, List<String> imageSha256) {
        String request = json.writeValueAsString(spec) + "\n" + String.join(",", imageSha256);
        return JobRunner.sha256(request.getBytes(StandardCharsets.UTF_8));
    }

    public Optional<Job> find(String tenant, String id) {
        return jobs.findByIdAndTenant(id, tenant);
    }

    /**
     * Deletes a finished job: its row, events, per-step metrics and artifact rows, then its blobs (LoRA files,
     * metrics, samples, checkpoint). A queued or running job is refused (409): cancel it first.
     */
    public void deleteJob(String tenant, String id) {
        Job job = require(tenant, id);
        Integer deleted = tx.execute(status -> jobs.deleteFinished(id, tenant));
        if (deleted == null || deleted == 0) {
            throw new RequestRejected(409, "job-active", "Job still active", "job " + id + " is "
                    + job.getStatus().wireName() + "; cancel it and delete it once it is cancelled", List.of());
        }
        blobs.deletePrefix("jobs/" + id + "/");
    }

    /**
     * Deletes an image set, its image rows and its blobs. Refused (409) while jobs made from it exist, since they
     * name it and a resumed job reads its images; delete those jobs first.
     */
    public void deleteImageSet(String tenant, String id) {
        ImageSet set = requireImageSet(tenant, id);
        List<String> users = jobs.idsUsingImageSet(set.getId(), Limit.of(5));
        if (!users.isEmpty()) {
            throw imageSetInUse(id, users);
        }
        try {
            tx.executeWithoutResult(status -> {
                imageSets.delete(set);
                imageSets.flush();
            });
        } catch (DataIntegrityViolationException e) {
            // A job was created from the set between the check and the delete.
            throw imageSetInUse(id, jobs.idsUsingImageSet(id, Limit.of(5)));
        }
        blobs.deletePrefix("image-sets/" + id + "/");
    }

    private static RequestRejected imageSetInUse(String id, List<String> jobIds) {
        return new RequestRejected(409, "image-set-in-use", "Image set in use", "image set " + id
                + " is used by job(s) " + String.join(", ", jobIds) + "; delete them first", List.of());
    }

    public Job require(String tenant, String id) {
        return find(tenant, id).orElseThrow(() -> RequestRejected.notFound("job " + id));
    }
}
