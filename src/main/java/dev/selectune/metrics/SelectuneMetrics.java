package dev.selectune.metrics;

import dev.selectune.training.MemorySummary;
import dev.selectune.training.StepReport;
import dev.selectune.training.schedule.Strategy;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import org.springframework.stereotype.Component;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.ToDoubleFunction;

/**
 * The meters of docs/metrics.md, exactly: names, types and labels. Labels never carry a job id (per-job figures
 * are in the API); devices and strategies are small fixed sets.
 */
@Component
public class SelectuneMetrics {
    private final MeterRegistry registry;
    private final AtomicLong queueDepth = new AtomicLong();
    private final AtomicLong running = new AtomicLong();
    private final AtomicLong generationQueueDepth = new AtomicLong();
    private final Map<String, AtomicLong> gauges = new ConcurrentHashMap<>();
    private final Map<String, Double> losses = new ConcurrentHashMap<>();

    public SelectuneMetrics(MeterRegistry registry) {
        this.registry = registry;
        Gauge.builder("selectune.queue.depth", queueDepth, AtomicLong::get)
                .description("jobs queued (all tenants)").register(registry);
        Gauge.builder("selectune.jobs.running", running, AtomicLong::get)
                .description("jobs running on this replica's workers").register(registry);
        Gauge.builder("selectune.process.resident.memory", this, m -> ProcessMemory.residentBytes())
                .baseUnit("bytes").description("the process resident set (JVM heap + native tensors)")
                .register(registry);
        // Every series exists from the start (at zero), so dashboards' rate() and absent() see them before a job.
        for (String outcome : new String[] {"succeeded", "failed", "cancelled"}) {
            jobsCounter(outcome);
            jobTimer(outcome);
        }
        for (String status : new String[] {"succeeded", "failed", "cancelled"}) {
            generationsCounter(status);
        }
        generationTimer();
        generationImages();
        Gauge.builder("selectune.generations.queue.depth", generationQueueDepth, AtomicLong::get)
                .description("generations queued (all tenants)").register(registry);
        for (Strategy strategy : Strategy.values()) {
            stepsCounter(strategy.wireName());
            stepTimer(strategy.wireName());
        }
        for (String outcome : WEBHOOK_OUTCOMES) {
            webhookCounter(outcome);
        }
    }

    /** A webhook attempt's outcome: delivered (2xx), retrying (it failed, another follows), failed (given up). */
    private static final String[] WEBHOOK_OUTCOMES = {"delivered", "retrying", "failed"};

    public void webhookDelivery(String outcome) {
        webhookCounter(outcome).increment();
    }

    private Counter webhookCounter(String outcome) {
        return Counter.builder("selectune.webhook.deliveries").tag("outcome", outcome)
                .description("webhook delivery attempts by outcome").register(registry);
    }

    /** Registers the per-device gauges up front so dashboards see the series before the first job. */
    public void registerDevice(String device, ToDoubleFunction<String> memoryUsed) {
        Gauge.builder("selectune.device.memory.used", device, memoryUsed).baseUnit("bytes").tag("device", device)
                .description("memory in use on the device now (CUDA on a GPU; process resident set on the CPU)")
                .register(registry);
        Gauge.builder("selectune.training.loss", losses, l -> l.getOrDefault(device, Double.NaN)).tag("device", device)
                .description("loss of the latest step of the job running on that device").register(registry);
        peakGauge(device, "bp");
        peakGauge(device, "zo");
    }

    /**
     * The durable queues {@code QueueMaintenance} keeps, each with its depth gauge and the finished counter its lost
     * rows count in ({@code noun} names the queue's rows in logs).
     */
    public enum Queue {
        JOBS("job"), GENERATIONS("generation");

        private final String noun;

        Queue(String noun) {
            this.noun = noun;
        }

        public String noun() {
            return noun;
        }
    }

    /** The queue's depth now (all tenants). */
    public void queueDepth(Queue queue, long depth) {
        (switch (queue) {
            case JOBS -> queueDepth;
            case GENERATIONS -> generationQueueDepth;
        }).set(depth);
    }

    /** Rows the reaper failed because their worker vanished and no attempts were left (no local duration). */
    public void lost(Queue queue, int count) {
        (switch (queue) {
            case JOBS -> jobsCounter("failed");
            case GENERATIONS -> generationsCounter("failed");
        }).increment(count);
    }

    public void jobStarted() {
        running.incrementAndGet();
    }

    public void jobEnded(String outcome, Duration wallTime) {
        running.decrementAndGet();
        if (outcome != null) {
            jobsCounter(outcome).increment();
            jobTimer(outcome).record(wallTime);
        }
    }

    public void step(String device, StepReport r) {
        String strategy = r.strategy().wireName();
        stepsCounter(strategy).increment();
        stepTimer(strategy).record((long) (r.seconds() * 1e9), TimeUnit.NANOSECONDS);
        losses.put(device, r.loss());
        AtomicLong peak = peakGauge(device, r.strategy().isBackprop() ? "bp" : "zo");
        peak.accumulateAndGet(r.peakBytes(), Math::max);
    }

    /** A new job on {@code device}: its peaks start from zero (the gauges show the running, or last, job). */
    public void resetPeaks(String device) {
        peakGauge(device, "bp").set(0);
        peakGauge(device, "zo").set(0);
    }

    /** The trainer's own summary is the authority once the job ends. */
    public void finalPeaks(String device, MemorySummary m) {
        peakGauge(device, "bp").set(m.bpPeakBytes());
        peakGauge(device, "zo").set(m.zoPeakBytes());
    }

    private AtomicLong peakGauge(String device, String strategy) {
        return gauges.computeIfAbsent(device + "/" + strategy, key -> {
            AtomicLong value = new AtomicLong();
            Gauge.builder("selectune.memory.peak", value, AtomicLong::get).baseUnit("bytes")
                    .tags("device", device, "strategy", strategy)
                    .description("the running (or last) job's BP and ZO peak on that device").register(registry);
            return value;
        });
    }

    private Counter stepsCounter(String strategy) {
        return Counter.builder("selectune.training.steps").tag("strategy", strategy)
                .description("training steps run").register(registry);
    }

    private Timer stepTimer(String strategy) {
        return Timer.builder("selectune.training.step.duration").tag("strategy", strategy).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(10)).maximumExpectedValue(Duration.ofMinutes(10))
                .description("wall time of one step").register(registry);
    }

    private Counter jobsCounter(String outcome) {
        return Counter.builder("selectune.jobs").tag("outcome", outcome).description("jobs finished").register(registry);
    }

    private Timer jobTimer(String outcome) {
        return Timer.builder("selectune.job.duration").tag("outcome", outcome).publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofSeconds(1)).maximumExpectedValue(Duration.ofDays(1))
                .description("wall time from claim to finish").register(registry);
    }

    /**
     * A generation ended on this replica's worker with {@code status}; {@code images} of them were published (their
     * rate is the images per second).
     */
    public void generationEnded(String status, Duration wallTime, int images) {
        generationsCounter(status).increment();
        generationTimer().record(wallTime);
        generationImages().increment(images);
    }

    private Counter generationsCounter(String status) {
        return Counter.builder("selectune.generations").tag("status", status)
                .description("generations finished").register(registry);
    }

    private Timer generationTimer() {
        return Timer.builder("selectune.generation.duration").publishPercentileHistogram()
                .minimumExpectedValue(Duration.ofMillis(100)).maximumExpectedValue(Duration.ofHours(1))
                .description("wall time of a generation from claim to finish").register(registry);
    }

    private Counter generationImages() {
        return Counter.builder("selectune.generation.images").description("images generated")
                .register(registry);
    }

    private final Map<String, Double> evaluationScores = new ConcurrentHashMap<>();

    /**
     * The latest evaluated job's score on this replica, per base model, metric ({@code dino}, {@code clip_i},
     * {@code clip_t}) and model ({@code lora}, or {@code base} for the bare base model's baseline row).
     */
    public void evaluationScore(String baseModel, String metric, String model, double value) {
        String key = baseModel + "|" + metric + "|" + model;
        if (evaluationScores.put(key, value) == null) {
            Gauge.builder("selectune.evaluation.score", evaluationScores, s -> s.getOrDefault(key, Double.NaN))
                    .tags("base_model", baseModel, "metric", metric, "model", model)
                    .description("DreamBooth score (cosine) of the latest evaluated job").register(registry);
        }
    }

    /** Wall time of a job's evaluation (generation and scoring), apart from its training. */
    public void evaluationDuration(Duration wallTime) {
        Timer.builder("selectune.evaluation.duration").description("evaluation wall time of a job, after training")
                .register(registry).record(wallTime);
    }
}
