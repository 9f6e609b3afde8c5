package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scalars;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.memory.FreeMemory;
import dev.selectune.training.memory.HeapTrimming;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.training.optim.AdamW;
import dev.selectune.training.optim.GradientClipping;
import dev.selectune.training.optim.MeZO;
import dev.selectune.training.schedule.Strategy;
import dev.selectune.training.schedule.StrategyChooser;
import dev.selectune.util.StepRandom;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedMap;
import java.util.SplittableRandom;

/**
 * The steps of Algorithm 1 on prepared data: per step sample an image and t ~ U{0..T-1}, let the schedule pick
 * BP-low (or BP-high) or ZO-high, and run it; report every step, stop cleanly on cancellation, checkpoint every K
 * steps and on cancel, resume from a stored checkpoint. It knows nothing of files or pipelines
 * ({@link SelectiveTrainer} does that), so it runs as well on the UNet as on a toy model in a unit test.
 *
 * <p>Memory discipline: the LoRA masters and AdamW's moments live in the caller's state manager; everything a step
 * creates lives in the step's own sub-manager and dies when the step ends.
 */
public final class TrainingLoop {
    private final Denoiser denoiser;
    private final LoraParameters params;
    private final DDPMScheduler scheduler;
    private final TrainingData data;
    private final TrainingConfig config;
    private final long seed;
    private final NDManager stateManager;
    private final MemoryProbe probe;
    private final StrategyChooser chooser;
    private final AdamW adam;
    private final MeZO mezo;
    private final HeapTrimming heapTrimming;

    /** What the loop did. {@code history} holds every step of the job, including those before a resume. */
    public record Outcome(int stepsDone, int bpSteps, int zoSteps, double finalLoss, MemorySummary memory,
                          List<StepReport> history, boolean cancelled) {
    }

    public TrainingLoop(Denoiser denoiser, LoraParameters params, DDPMScheduler scheduler, TrainingData data,
                        TrainingConfig config, long seed, NDManager stateManager, MemoryProbe probe) {
        this.denoiser = denoiser;
        this.params = params;
        this.scheduler = scheduler;
        this.data = data;
        this.config = config.validate();
        this.seed = seed;
        this.stateManager = stateManager;
        this.probe = probe;
        this.chooser = new StrategyChooser(config.schedule(), config.k(), config.tMid(), config.tMax(),
                config.steps());
        this.adam = new AdamW(params.masters(), stateManager, config.learningRate(), config.adamBeta1(),
                config.adamBeta2(), config.adamEpsilon(), config.weightDecay());
        this.mezo = new MeZO(config.zoEpsilon(), config.zoLearningRate(), config.zoPerturbations());
        this.heapTrimming = HeapTrimming.defaults(probe);
    }

    public Outcome run(StepListener listener, CancellationToken cancel, CheckpointStore checkpoints) {
        params.setTrainable(true);
        if (!probe.isGpu()) {
            // Loading and encoding left the JVM heap large and garbage-touched; shrunk now, it stays small.
            FreeMemory.returnJavaHeap();
        }
        List<StepReport> history = new ArrayList<>();
        int start = checkpoints.load().map(blob -> restore(TrainingCheckpoint.decode(blob), history)).orElse(0);
        for (int step = start + 1; step <= config.steps(); step++) {
            if (cancel.isCancelled()) {
                checkpoints.save(step - 1, checkpoint(step - 1, history).encode());
                return outcome(step - 1, history, true);
            }
            StepReport report = step(step);
            history.add(report);
            listener.onStep(report);
            if (config.checkpointEvery() > 0 && step % config.checkpointEvery() == 0 && step < config.steps()) {
                checkpoints.save(step, checkpoint(step, history).encode());
            }
        }
        return outcome(config.steps(), history, false);
    }

    private StepReport step(int step) {
        SplittableRandom random = StepRandom.forStep(seed, step);
        TrainingData.Latents image = data.images().get(random.nextInt(data.images().size()));
        boolean flip = image.hasFlips() && random.nextBoolean();
        int t = random.nextInt(scheduler.numTrainTimesteps());
        double pZo = chooser.pZo(step - 1, t);
        Strategy strategy = chooser.choose(pZo, random.nextDouble());
        // Small tensors freed by earlier steps (or by the VAE and text encoders before the first) stay resident in
        // malloc's arenas until trimmed: trimmed when the strategy changes, so that a step's peak is its own. Only
        // BP-high steps keep the last one's holes: there a trim costs the next step seconds of page faults, while
        // BP-low is the step whose peak the method exists to keep low and refaults far less (docs/training.md,
        // "Trimming between steps").
        heapTrimming.beforeStep(strategy, strategy == Strategy.BP_HIGH);
        probe.reset();
        long started = System.nanoTime();
        boolean low = strategy == Strategy.BP_LOW;
        double loss;
        try (NDManager stepManager = stateManager.newSubManager()) {
            Example instance = example(stepManager, random, image.high(flip), image.low(flip), low,
                    low ? data.promptLow() : data.promptHigh(), t);
            Example prior = null;
            if (data.hasPrior()) {
                TrainingData.Latents cls = data.classImages().get(random.nextInt(data.classImages().size()));
                prior = example(stepManager, random, cls.high(), cls.low(), low,
                        low ? data.classPromptLow() : data.classPromptHigh(), t);
            }
            loss = strategy.isBackprop() ? backprop(instance, prior, t) : zeroOrder(instance, prior, t, random);
            requireFinite(step, strategy, loss);
            // On a GPU the peak is the largest sample: take one while the step's tensors still exist. (On the CPU
            // the kernel keeps the high-water mark itself.)
            probe.sample();
        }
        double seconds = (System.nanoTime() - started) / 1e9;
        return new StepReport(step, config.steps(), strategy, t, pZo, loss, seconds, probe.read().peakBytes());
    }

    /**
     * Stops the job at the first step that diverged: a NaN or infinite loss, or an update that left a LoRA weight
     * non-finite (the loss is computed before the update, so a NaN gradient shows only in the weights). One sum
     * per LoRA tensor is noise next to the step's UNet passes.
     */
    private void requireFinite(int step, Strategy strategy, double loss) {
        if (!Double.isFinite(loss)) {
            throw TrainingDivergedException.loss(step, strategy, loss);
        }
        List<NDArray> masters = params.masters();
        for (int i = 0; i < masters.size(); i++) {
            NDArray master = masters.get(i);
            float sum = Autograd.noGrad(() -> {
                try (NDArray s = master.sum()) {
                    return s.getFloat();
                }
            });
            if (!Float.isFinite(sum)) {
                throw TrainingDivergedException.update(step, strategy, params.names().get(i));
            }
        }
    }

    /** One training example of a step, every tensor in the step's manager (so nothing outlives the step). */
    private record Example(NDArray noisy, NDArray target, Conditioning cond) {
    }

    private Example example(NDManager stepManager, SplittableRandom random, NDArray high, NDArray low,
                            boolean useLow, Conditioning cond, int t) {
        NDArray latents = copy(useLow ? low : high, stepManager);
        NDArray noise = stepManager.create(StepRandom.gaussians(random, Math.toIntExact(latents.size())),
                latents.getShape());
        long[] timestep = {t};
        NDArray noisy = scheduler.addNoise(latents, noise, timestep);
        NDArray target = scheduler.target(latents, noise, timestep);
        return new Example(noisy, target, copy(cond, stepManager));
    }

    /** BP: MSE (+ prior term), backward into the LoRA, clip, AdamW on the masters, re-sync the working copies. */
    private double backprop(Example instance, Example prior, int t) {
        boolean checkpointed = config.gradientCheckpointing();
        double loss = denoiser.lossAndBackward(instance.noisy(), t, instance.cond(),
                pred -> mse(pred, instance.target()), checkpointed).getFloat();
        if (prior != null) {
            float weight = (float) config.priorLossWeight();
            loss += denoiser.lossAndBackward(prior.noisy(), t, prior.cond(),
                    pred -> Scalars.mul(mse(pred, prior.target()), weight), checkpointed).getFloat();
        }
        List<NDArray> grads = gradientsOrZeros();
        try {
            GradientClipping.clipByGlobalNorm(grads, config.maxGradNorm());
            adam.step(grads);
        } finally {
            grads.forEach(NDArray::close);
        }
        params.zeroGradients();
        params.syncWorkingCopies();
        return loss;
    }

    /**
     * The gradients of the masters, zeros for a parameter the backward did not reach (AdamW then still moves it by
     * its moments and weight decay).
     */
    private List<NDArray> gradientsOrZeros() {
        List<NDArray> grads = params.gradients();
        List<NDArray> masters = params.masters();
        for (int i = 0; i < grads.size(); i++) {
            if (grads.get(i) == null) {
                NDArray master = masters.get(i);
                grads.set(i, master.getManager().zeros(master.getShape(), DataType.FLOAT32));
            }
        }
        return grads;
    }

    /** ZO-high: MeZO with this step's noise and timestep fixed for every evaluation. */
    private double zeroOrder(Example instance, Example prior, int t, SplittableRandom random) {
        MeZO.Result result = mezo.step(params.masters(), random::nextLong, () -> {
            // The scope frees the forward's output and the loss at once, so 2N forwards cost one forward's memory.
            try (NDScope scope = new NDScope()) {
                scope.suppressNotUsedWarning();
                double l = mse(denoiser.predict(instance.noisy(), t, instance.cond()), instance.target()).getFloat();
                if (prior != null) {
                    l += config.priorLossWeight()
                            * mse(denoiser.predict(prior.noisy(), t, prior.cond()), prior.target()).getFloat();
                }
                return l;
            }
        }, params::syncWorkingCopies);
        return result.loss();
    }

    private static NDArray mse(NDArray prediction, NDArray target) {
        // Under an FP16 UNet the prediction is FP16; the target is not part of the graph, so casting it is free.
        NDArray t = Precision.cast(target, prediction.getDataType());
        return prediction.sub(t).square().mean();
    }

    private static NDArray copy(NDArray array, NDManager manager) {
        if (array == null) {
            return null;
        }
        NDArray c = Autograd.noGrad(array::duplicate);
        c.attach(manager);
        return c;
    }

    private static Conditioning copy(Conditioning c, NDManager manager) {
        return new Conditioning(copy(c.hiddenStates(), manager), copy(c.pooled(), manager), copy(c.timeIds(), manager));
    }

    private Outcome outcome(int stepsDone, List<StepReport> history, boolean cancelled) {
        long bpPeak = 0;
        long zoPeak = 0;
        int bp = 0;
        int zo = 0;
        for (StepReport r : history) {
            if (r.strategy().isBackprop()) {
                bp++;
                bpPeak = Math.max(bpPeak, r.peakBytes());
            } else {
                zo++;
                zoPeak = Math.max(zoPeak, r.peakBytes());
            }
        }
        double finalLoss = history.isEmpty() ? Double.NaN : history.get(history.size() - 1).loss();
        MemorySummary memory = MemorySummary.of(bpPeak, zoPeak, stateManager.getDevice().toString(), probe.describe());
        return new Outcome(stepsDone, bp, zo, finalLoss, memory, List.copyOf(history), cancelled);
    }

    private TrainingCheckpoint checkpoint(int step, List<StepReport> history) {
        Map<String, float[]> lora = new LinkedHashMap<>();
        Map<String, float[]> first = new LinkedHashMap<>();
        Map<String, float[]> second = new LinkedHashMap<>();
        Map<String, long[]> shapes = new LinkedHashMap<>();
        List<NDArray> masters = params.masters();
        for (int i = 0; i < masters.size(); i++) {
            String name = params.names().get(i);
            lora.put(name, masters.get(i).toFloatArray());
            first.put(name, adam.firstMoments().get(i).toFloatArray());
            second.put(name, adam.secondMoments().get(i).toFloatArray());
            shapes.put(name, masters.get(i).getShape().getShape());
        }
        return new TrainingCheckpoint(step, seed, fingerprint().encode(), adam.stepCount(), lora, first, second, shapes,
                List.copyOf(history));
    }

    /** Puts the state of {@code c} into the parameters and the optimizer; returns the step it was taken after. */
    private int restore(TrainingCheckpoint c, List<StepReport> history) {
        List<String> differences = differences(c.jobFingerprint());
        if (!differences.isEmpty() || c.seed() != seed) {
            throw new IllegalArgumentException("checkpoint: taken for a different job ("
                    + (differences.isEmpty() ? "seed " + c.seed() + ", now " + seed : String.join("; ", differences))
                    + ")");
        }
        List<NDArray> masters = params.masters();
        List<float[]> first = new ArrayList<>();
        List<float[]> second = new ArrayList<>();
        Autograd.noGrad(() -> {
            for (int i = 0; i < masters.size(); i++) {
                String name = params.names().get(i);
                float[] values = c.lora().get(name);
                if (values == null || values.length != masters.get(i).size()) {
                    throw new IllegalArgumentException("checkpoint: LoRA tensor '" + name + "' missing or misshapen");
                }
                masters.get(i).set(values);
                first.add(c.adamFirst().get(name));
                second.add(c.adamSecond().get(name));
            }
        });
        adam.restore(c.adamSteps(), first, second);
        params.syncWorkingCopies();
        history.addAll(c.history());
        return c.step();
    }

    /**
     * Identifies the job a checkpoint belongs to: the options that shape the LoRA (see
     * {@link Hyperparameter#shapesLora}) with the seed this run uses, the LoRA's parameter layout and the number of
     * images.
     */
    private JobFingerprint fingerprint() {
        SortedMap<String, String> values = TrainingConfig.HYPERPARAMETERS.canonical(config.toBuilder().seed(seed).build());
        values.put("lora_parameters", params.count() + " " + sha256(String.join(",", params.names())));
        values.put("images", Integer.toString(data.images().size()));
        return new JobFingerprint(values);
    }

    /** What makes this job another than the one the stored fingerprint names; empty when it may be resumed. */
    private List<String> differences(String stored) {
        if (JobFingerprint.isFormatOne(stored)) {
            String now = JobFingerprint.formatOne(config, seed, params.names(), params.count(), data.images().size());
            return stored.equals(now) ? List.of()
                    : List.of("its options (the checkpoint is of format 1, which names none)");
        }
        return JobFingerprint.decode(stored).differences(fingerprint(), defaults());
    }

    private static Map<String, String> defaults() {
        Map<String, String> out = new LinkedHashMap<>();
        TrainingConfig.HYPERPARAMETERS.all().forEach(d -> out.put(d.name(), d.canonicalDefault()));
        return out;
    }

    private static String sha256(String text) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8));
            return HexFormat.of().formatHex(digest, 0, 12);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}
