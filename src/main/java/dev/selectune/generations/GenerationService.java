package dev.selectune.generations;

import dev.selectune.webhooks.Subject;
import dev.selectune.webhooks.WebhookRequest;
import dev.selectune.webhooks.Webhooks;
import dev.selectune.config.Ids;
import dev.selectune.config.ModelRegistry;
import dev.selectune.config.SelectuneProperties;
import dev.selectune.jobs.Artifact;
import dev.selectune.jobs.ArtifactRepository;
import dev.selectune.jobs.IdempotencyKeyReused;
import dev.selectune.jobs.InvalidParameter;
import dev.selectune.jobs.InvalidRequest;
import dev.selectune.jobs.Job;
import dev.selectune.jobs.JobRepository;
import dev.selectune.jobs.JobStatus;
import dev.selectune.jobs.NotFound;
import dev.selectune.util.Problem;
import dev.selectune.jobs.Slice;
import dev.selectune.jobs.WorkerPool;
import dev.selectune.storage.BlobStore;
import dev.selectune.util.Hashes;
import org.springframework.dao.DataIntegrityViolationException;
import org.springframework.stereotype.Service;
import org.springframework.transaction.support.TransactionTemplate;
import tools.jackson.databind.json.JsonMapper;

import java.net.URI;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Creating, reading, cancelling and deleting a tenant's generations. A LoRA is resolved here, once, to an artifact
 * of one of the tenant's own jobs: another tenant's job is a 404 like a missing one, so the worker is never handed a
 * LoRA its tenant could not download.
 */
@Service
public class GenerationService {
    /** The default LoRA artifact of a job: the PEFT / diffusers file. */
    public static final String DEFAULT_LORA = "lora.safetensors";
    private static final Pattern ARTIFACT_PATH = Pattern.compile("^/v1/jobs/([A-Za-z0-9_-]{1,64})/artifacts/([^/]+)$");
    private static final SecureRandom SEEDS = new SecureRandom();

    private final GenerationRepository generations;
    private final GenerationEventRepository events;
    private final GenerationImageRepository images;
    private final GenerationQueue queue;
    private final JobRepository jobs;
    private final ArtifactRepository artifacts;
    private final BlobStore blobs;
    private final ModelRegistry models;
    private final SelectuneProperties props;
    private final JsonMapper json;
    private final TransactionTemplate tx;
    private final WorkerPool workers;

    private final Webhooks webhooks;

    public GenerationService(GenerationRepository generations, GenerationEventRepository events,
                             GenerationImageRepository images, GenerationQueue queue, JobRepository jobs,
                             ArtifactRepository artifacts, BlobStore blobs, ModelRegistry models,
                             SelectuneProperties props, JsonMapper json, TransactionTemplate tx, WorkerPool workers,
                             Webhooks webhooks) {
        this.webhooks = webhooks;
        this.generations = generations;
        this.events = events;
        this.images = images;
        this.queue = queue;
        this.jobs = jobs;
        this.artifacts = artifacts;
        this.blobs = blobs;
        this.models = models;
        this.props = props;
        this.json = json;
        this.tx = tx;
        this.workers = workers;
    }

    public record Created(Generation generation, boolean replayed) {
    }

    /**
     * Queues a generation. With an {@code idempotencyKey} this tenant used before for the same request, the first
     * generation is the answer; used for a different request, it is refused (422) and nothing is stored.
     */
    public Created create(String tenant, GenerationSpec spec, String idempotencyKey) {
        String fingerprint = Hashes.sha256Hex(json.writeValueAsString(spec));
        if (idempotencyKey != null) {
            Optional<Created> replay = replay(tenant, idempotencyKey, fingerprint);
            if (replay.isPresent()) {
                return replay.get();
            }
        }
        ResolvedGeneration resolved = resolve(tenant, spec);
        try {
            Created created = tx.execute(status -> {
                Generation g = generations.saveAndFlush(new Generation(Ids.generation(), tenant, resolved.baseModel(),
                        json.writeValueAsString(resolved),
                        resolved.metadata() == null ? null : json.writeValueAsString(resolved.metadata()),
                        idempotencyKey, fingerprint, resolved.n(), resolved.n() * resolved.steps(), resolved.seed(),
                        props.workers().maxAttempts()));
                webhooks.register(Subject.GENERATION, g.getId(), tenant, resolved.webhookRequest());
                queue.queued(g.getId(), "generation of " + resolved.n() + " image(s) " + resolved.width() + "x"
                        + resolved.height() + " with base model " + resolved.baseModel() + " and "
                        + resolved.loras().size() + " LoRA(s), " + resolved.steps() + " steps");
                return new Created(g, false);
            });
            workers.nudge();
            return created;
        } catch (DataIntegrityViolationException e) {
            // Two requests with the same Idempotency-Key raced; the other one's generation is the answer.
            if (idempotencyKey != null) {
                return replay(tenant, idempotencyKey, fingerprint).orElseThrow(() -> e);
            }
            throw e;
        }
    }

    private Optional<Created> replay(String tenant, String key, String fingerprint) {
        return generations.findByTenantAndIdempotencyKey(tenant, key).map(earlier -> {
            if (!fingerprint.equals(earlier.getIdempotencyFingerprint())) {
                throw new IdempotencyKeyReused(key, "generation", earlier.getId(), "the generation request");
            }
            return new Created(earlier, true);
        });
    }

    /** Checks the request and fills in its defaults; every problem at once (422), then any missing LoRA (404). */
    ResolvedGeneration resolve(String tenant, GenerationSpec spec) {
        Optional<ModelRegistry.Model> model = models.find(spec.baseModel());
        List<Problem> problems = new ArrayList<>();
        if (spec.baseModel() == null || spec.baseModel().isBlank()) {
            problems.add(new Problem("base_model", "required (see GET /v1/models)"));
        } else if (model.isEmpty()) {
            problems.add(new Problem("base_model", "unknown base model '" + spec.baseModel() + "' (available: "
                    + String.join(", ", models.all().stream().map(ModelRegistry.Model::name).toList()) + ")"));
        }
        problems.addAll(spec.problems(model.map(ModelRegistry.Model::info).orElse(null)));
        WebhookRequest webhook = spec.webhookRequest();
        problems.addAll(webhooks.problems(webhook));
        if (!problems.isEmpty()) {
            throw new InvalidRequest("the generation request has " + problems.size() + " problem(s)", problems);
        }
        List<ResolvedGeneration.ResolvedLora> loras = new ArrayList<>();
        List<GenerationSpec.LoraRequest> asked = spec.loras() == null ? List.of() : spec.loras();
        for (int i = 0; i < asked.size(); i++) {
            loras.add(resolveLora(tenant, asked.get(i), "loras[" + i + "]", model.get(), problems));
        }
        if (!problems.isEmpty()) {
            throw new InvalidRequest("the generation request has " + problems.size() + " problem(s)", problems);
        }
        int size = model.get().info().nativeResolution();
        return new ResolvedGeneration(spec.baseModel(), loras, spec.prompt(),
                spec.negativePrompt() == null ? "" : spec.negativePrompt(), spec.n() == null ? 1 : spec.n(),
                spec.width() == null ? size : spec.width(), spec.height() == null ? size : spec.height(),
                spec.steps() == null ? 30 : spec.steps(), spec.guidanceScale() == null ? 7.5 : spec.guidanceScale(),
                spec.scheduler(), spec.seed() != null ? spec.seed() : SEEDS.nextLong(GenerationSpec.MAX_SEED + 1),
                spec.metadata(), spec.webhook(),
                webhook == null ? null : webhook.resolved().eventsFilter());
    }

    /**
     * The artifact a LoRA reference names, if the job is this tenant's (else 404, as for a job that does not
     * exist) and it has that LoRA file; a job of another model family is a problem of the request.
     */
    private ResolvedGeneration.ResolvedLora resolveLora(String tenant, GenerationSpec.LoraRequest l, String at,
                                                        ModelRegistry.Model model, List<Problem> problems) {
        String jobId = l.jobId();
        String name = l.artifact() != null ? l.artifact() : DEFAULT_LORA;
        String field = at + ".job_id";
        if (l.url() != null) {
            field = at + ".url";
            Matcher m = ARTIFACT_PATH.matcher(path(l.url(), field));
            if (!m.matches()) {
                throw new InvalidRequest("bad LoRA url", List.of(new Problem(field, "not the URL of a job artifact"
                        + " of this service (like /v1/jobs/job_.../artifacts/lora.safetensors)")));
            }
            jobId = m.group(1);
            name = m.group(2);
        }
        String asked = jobId;
        String askedField = field;
        Job job = jobs.findByIdAndTenant(jobId, tenant).orElseThrow(
                () -> new NotFound("job " + asked, new Problem(askedField, "no such job")));
        String id = job.getId();
        Artifact artifact = artifacts.findByJobIdAndName(id, name).orElse(null);
        if (artifact == null || !name.endsWith(".safetensors")) {
            problems.add(new Problem(field, "job " + id + " (" + job.getStatus().wireName() + ") has no LoRA artifact '"
                    + name + "'" + (job.getStatus().isTerminal() ? "" : "; it is published when the job finishes")));
            return null;
        }
        Optional<ModelRegistry.Model> trainedOn = models.find(job.getBaseModel());
        if (trainedOn.isPresent() && !trainedOn.get().info().family().equals(model.info().family())) {
            problems.add(new Problem(field, "job " + id + " trained a LoRA for " + job.getBaseModel() + " ("
                    + trainedOn.get().info().family() + "), which does not fit " + model.name() + " ("
                    + model.info().family() + ")"));
        }
        return new ResolvedGeneration.ResolvedLora(id, name, "/v1/jobs/" + id + "/artifacts/" + name,
                l.scale() == null ? 1.0 : l.scale(), artifact.getSha256());
    }

    private static String path(String url, String field) {
        try {
            String p = URI.create(url).getPath();
            return p == null ? "" : p;
        } catch (IllegalArgumentException e) {
            throw new InvalidRequest("bad LoRA url", List.of(new Problem(field, "not a URL: " + e.getMessage())));
        }
    }

    public Generation require(String tenant, String id) {
        return generations.findByIdAndTenant(id, tenant).orElseThrow(() -> new NotFound("generation " + id));
    }

    /** The tenant's generations, newest first, optionally of one status, after the generation {@code afterId}. */
    public Slice<Generation> list(String tenant, JobStatus status, String afterId, int limit) {
        long before = afterId == null ? Long.MAX_VALUE : generations.findByIdAndTenant(afterId, tenant)
                .map(Generation::getSeq).orElseThrow(() -> new InvalidParameter("after", "no generation " + afterId
                        + " to continue after"));
        return Slice.fetch(limit, l -> generations.page(tenant, status == null ? null : status.wireName(), before, l));
    }

    public record Cancellation(Generation generation, boolean stopped) {
    }

    /** Cancels a queued generation at once, or asks a running one to stop at its next step. */
    public Cancellation cancel(String tenant, String id) {
        require(tenant, id);
        if (queue.cancelQueued(id)) {
            return new Cancellation(require(tenant, id), true);
        }
        if (queue.requestCancel(id)) {
            return new Cancellation(require(tenant, id), false);
        }
        throw new GenerationFinished(id, require(tenant, id).getStatus());
    }

    /** Deletes a finished generation, its events and images (rows, then blobs); an active one is refused (409). */
    public void delete(String tenant, String id) {
        Generation g = require(tenant, id);
        Integer deleted = tx.execute(status -> generations.deleteFinished(id, tenant));
        if (deleted == null || deleted == 0) {
            throw new GenerationActive(id, g.getStatus());
        }
        blobs.deletePrefix(blobPrefix(id));
    }

    /** Where a generation's image blobs live. */
    static String blobPrefix(String id) {
        return "generations/" + id + "/";
    }

    public Slice<GenerationEvent> events(String tenant, String id, long afterId, int limit) {
        require(tenant, id);
        return Slice.fetch(limit, l -> events.findByGenerationIdAndIdGreaterThanOrderById(id, afterId, l));
    }

    /** The events after {@code afterId}, for a stream that has checked the tenant already. */
    public List<GenerationEvent> eventsAfter(String id, long afterId, int limit) {
        return events.findByGenerationIdAndIdGreaterThanOrderById(id, afterId,
                org.springframework.data.domain.Limit.of(limit));
    }

    /** Whether the generation is finished (or gone), for a stream following it. */
    public boolean finished(String id) {
        return generations.findById(id).map(g -> g.getStatus().isTerminal()).orElse(true);
    }

    /** A finished generation's images (none before it succeeded: they are published with the final status). */
    public List<GenerationImage> images(String tenant, String id) {
        require(tenant, id);
        return images.findByGenerationIdOrderByPosition(id);
    }

    public List<GenerationImage> images(Generation g) {
        return images.findByGenerationIdOrderByPosition(g.getId());
    }

    public record ImageContent(GenerationImage image, byte[] bytes) {
    }

    public ImageContent image(String tenant, String id, String name) {
        require(tenant, id);
        GenerationImage image = images.findByGenerationIdAndName(id, name)
                .orElseThrow(() -> new NotFound("image " + name + " of generation " + id));
        return new ImageContent(image, blobs.get(image.getBlobKey())
                .orElseThrow(() -> new IllegalStateException("blob " + image.getBlobKey() + " is missing")));
    }

    public ResolvedGeneration request(Generation g) {
        return json.readValue(g.getRequest(), ResolvedGeneration.class);
    }

    public int queuePosition(Generation g) {
        return queue.queuePosition(g.getSeq());
    }
}
