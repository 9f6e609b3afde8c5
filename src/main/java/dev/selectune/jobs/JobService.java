package dev.selectune.jobs;

import dev.selectune.util.Problem;
import dev.selectune.config.Ids;
import dev.selectune.config.EvaluatorRegistry;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.Webhooks;
import dev.selectune.training.TrainingConfig;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.data.domain.Limit;
import org.springframework.stereotype.Service;
import org.springframework.transaction.annotation.Transactional;
import org.springframework.transaction.support.TransactionSynchronization;
import org.springframework.transaction.support.TransactionSynchronizationManager;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

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
    private final WorkerPool workers;
    private final Webhooks webhooks;

    public JobService(JobRepository jobs, ImageSetRepository imageSets, ImageRecordRepository images, JobQueue queue,
                      BlobStore blobs, ModelRegistry models, SelectuneProperties props, JsonMapper json,
                      TransactionTemplate tx, EvaluatorRegistry evaluators, WorkerPool workers, Webhooks webhooks) {
        this.workers = workers;
        this.webhooks = webhooks;
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
        return createJob(tenant, spec, idempotencyKey, () -> uploads.stream().map(NewImage::sha256).toList(),
                () -> uploads);
    }

    /**
     * The same, with uploads checked only when needed: a retry with a used Idempotency-Key is answered (or refused)
     * from the uploads' digests alone, before their images are decoded and checked again.
     *
     * @param uploadSha256 the SHA-256 of each uploaded file, in order (asked for only with an Idempotency-Key)
     * @param uploads      the uploaded images, checked (asked for only when a job is made)
     */
    public Created createJob(String tenant, JobSpec spec, String idempotencyKey, Supplier<List<String>> uploadSha256,
                             Supplier<List<NewImage>> uploads) {
        String fingerprint = idempotencyKey == null ? null : fingerprint(spec, uploadSha256.get());
        if (idempotencyKey != null) {
            Optional<Created> replay = replay(tenant, idempotencyKey, () -> fingerprint);
            if (replay.isPresent()) {
                return replay.get();
            }
        }
        return create(tenant, spec, idempotencyKey, fingerprint, uploads.get());
    }

    private Created create(String tenant, JobSpec spec, String idempotencyKey, String fingerprint,
                           List<NewImage> uploads) {
        JobSpec.Checked checked = spec.check();
        List<Problem> problems = new ArrayList<>(checked.problems());
        problems.addAll(webhooks.problems(spec.webhook()));
        Optional<ModelRegistry.Model> model = models.find(spec.baseModel());
        if (spec.baseModel() == null || spec.baseModel().isBlank()) {
            problems.add(new Problem("base_model", "required (see GET /v1/models)"));
        } else if (model.isEmpty()) {
            problems.add(new Problem("base_model", "unknown base model '" + spec.baseModel() + "' (available: "
                    + String.join(", ", models.all().stream().map(ModelRegistry.Model::name).toList()) + ")"));
        }
        boolean hasSet = spec.imageSetId() != null;
        if (hasSet == !uploads.isEmpty()) {
            problems.add(hasSet ? new Problem("images", "give image_set_id or upload images, not both")
                    : new Problem("image_set_id", "required (or upload 'images' parts with a 'spec' part)"));
        }
        if (spec.evaluation() != null && !evaluators.available()) {
            problems.add(new Problem("evaluation", "this service has no evaluator models; ask without 'evaluation',"
                    + " or configure SELECTUNE_EVAL_MODELS=clip=<CLIP folder>,dino=<DINO folder>"
                    + " (see GET /v1/models)"));
        }
        if (!problems.isEmpty()) {
            throw new InvalidRequest("the job spec has " + problems.size() + " problem(s)", problems);
        }
        TrainingConfig config = withSeed(checked.config());
        List<int[]> sizes = hasSet
                ? images.findByImageSetIdOrderByPosition(requireImageSet(tenant, spec.imageSetId()).getId()).stream()
                        .map(i -> new int[] {i.getWidth(), i.getHeight()}).toList()
                : uploads.stream().map(u -> new int[] {u.info().width(), u.info().height()}).toList();
        checkLowResolution(model.get(), config, sizes);
        try {
            Created created = tx.execute(status -> {
                String setId = hasSet ? spec.imageSetId() : storeImageSet(tenant, uploads).getId();
                JobSpec resolved = spec.resolved(config, setId);
                Job job = jobs.saveAndFlush(new Job(Ids.job(), tenant, setId, spec.baseModel(),
                        json.writeValueAsString(resolved),
                        spec.metadata() == null ? null : json.writeValueAsString(spec.metadata()), idempotencyKey,
                        fingerprint, config.steps(), props.workers().maxAttempts(), config.seed()));
                webhooks.register(Subject.JOB, job.getId(), tenant, resolved.webhook());
                queue.event(job.getId(), EventType.QUEUED, "job created for base model " + spec.baseModel()
                        + " with " + sizes.size() + " image(s), " + config.steps() + " steps, schedule "
                        + config.schedule().wireName());
                return new Created(job, false);
            });
            workers.nudge();
            return created;
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
        return imageSets.findByIdAndTenant(id, tenant).orElseThrow(() -> new NotFound("image set " + id,
                new Problem("image_set_id", "no such image set")));
    }

    /** Every image must be at least the model's low (BP) resolution on its short side, or BP-low would upsample. */
    private static void checkLowResolution(ModelRegistry.Model model, TrainingConfig config, List<int[]> sizes) {
        int high = config.resolution() != null ? config.resolution() : model.info().nativeResolution();
        int low = (int) Math.round(high * config.resizeRatio());
        List<Problem> problems = new ArrayList<>();
        for (int i = 0; i < sizes.size(); i++) {
            int[] s = sizes.get(i);
            if (Math.min(s[0], s[1]) < low) {
                problems.add(new Problem("images[" + i + "]", s[0] + "x" + s[1] + " px is smaller than the low"
                        + " resolution " + low + " px of " + model.name()));
            }
        }
        if (!problems.isEmpty()) {
            throw new InvalidRequest("images too small for this model", problems);
        }
    }

    /**
     * The job an earlier request with this Idempotency-Key created, if the request was the same (the multipart path
     * asks before it validates the images again).
     *
     * @param fingerprint this request's {@link #fingerprint}, asked for only when the key has been used before (the
     *                    multipart path then hashes the uploads, which a first request need not)
     * @throws IdempotencyKeyReused when the key was used for a different request
     */
    private Optional<Created> replay(String tenant, String idempotencyKey, Supplier<String> fingerprint) {
        return jobs.findByTenantAndIdempotencyKey(tenant, idempotencyKey).map(earlier -> {
            String first = earlier.getIdempotencyFingerprint();
            if (first != null && !first.equals(fingerprint.get())) {
                throw new IdempotencyKeyReused(idempotencyKey, earlier.getId());
            }
            return new Created(earlier, true);
        });
    }

    /**
     * What a create request asks for, for its Idempotency-Key: SHA-256 over the spec as parsed (so whitespace and
     * field order do not count) and the SHA-256 of each uploaded image, in order.
     */
    private String fingerprint(JobSpec spec, List<String> imageSha256) {
        String request = json.writeValueAsString(spec) + "\n" + String.join(",", imageSha256);
        return Hashes.sha256Hex(request);
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
            throw new JobActive(id, job.getStatus());
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
            throw new ImageSetInUse(id, users);
        }
        try {
            tx.executeWithoutResult(status -> {
                imageSets.delete(set);
                imageSets.flush();
            });
        } catch (DataIntegrityViolationException e) {
            // A job was created from the set between the check and the delete.
            throw new ImageSetInUse(id, jobs.idsUsingImageSet(id, Limit.of(5)));
        }
        blobs.deletePrefix("image-sets/" + id + "/");
    }

    /** A cancel request's answer: {@code stopped} when the job was queued and is cancelled now. */
    public record Cancellation(Job job, boolean stopped) {
    }

    /**
     * Cancels a queued job at once, or asks a running one to stop at its next step (it turns {@code cancelled} once
     * its worker has stored the LoRA so far). A finished job cannot be cancelled.
     */
    public Cancellation cancel(String tenant, String id) {
        Job job = require(tenant, id);
        if (queue.cancelQueued(id)) {
            queue.event(id, EventType.CANCELLED, "cancelled while queued");
            return new Cancellation(require(tenant, id), true);
        }
        if (queue.requestCancel(id)) {
            workers.cancelLocal(id);
            queue.event(id, EventType.CANCEL_REQUESTED, "cancellation requested; the worker stops at its next step");
            return new Cancellation(require(tenant, id), false);
        }
        throw new JobFinished(id, require(tenant, id).getStatus(), job.getStatus());
    }

    public Job require(String tenant, String id) {
        return find(tenant, id).orElseThrow(() -> new NotFound("job " + id));
    }
}
