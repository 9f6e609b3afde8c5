package dev.selectune.cli;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.unet.UNetConfig;
import dev.selectune.training.CancellationToken;
import dev.selectune.training.CheckpointStore;
import dev.selectune.util.StepRandom;
import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingLoop;
import dev.selectune.training.UNetDenoiser;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.Resolutions;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.memory.FreeMemory;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.training.schedule.Schedule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;

/**
 * {@code bench trainer}: the memory and speed of each strategy on a random-weight UNet of a preset (UNet only:
 * random latents and text states of the right shapes stand in for the VAE and text encoder outputs), all measured
 * the same way in one process: every peak is the process resident-set high-water mark (weights included), reset
 * before each step. Phases run from the smallest expected footprint to the largest, because the C allocator may
 * keep freed pages resident and a reset high-water mark starts from the current resident set.
 */
@Command(name = "trainer", mixinStandardHelpOptions = true,
        description = "Peak memory and seconds per step of BP-high, BP-low (per ratio), ZO-high and DTAP.")
public final class BenchTrainerCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "sd15", description = "UNet config preset: sd15, sd21, sdxl")
    String preset;
    @Option(names = "--resolution", defaultValue = "512", description = "high resolution in pixels")
    int resolution;
    @Option(names = "--ratios", split = ",", defaultValue = "0.5,0.625,0.75", description = "BP-low ratios r")
    List<Double> ratios;
    @Option(names = "--steps", defaultValue = "2", description = "steps per strategy (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--dtap-steps", defaultValue = "6", description = "steps of the dtap job (default: ${DEFAULT-VALUE})")
    int dtapSteps;
    @Option(names = "--zo-perturbations", defaultValue = "4", description = "N of MeZO (default: ${DEFAULT-VALUE})")
    int perturbations;
    @Option(names = "--gradient-checkpointing",
            description = "BP steps recompute UNet segments during backward (always with fp16-held weights)")
    boolean gradientCheckpointing;
    @Option(names = "--weights-dtype", defaultValue = "fp32",
            description = "the frozen UNet weights held as fp32, or as fp16 and upcast per layer (compute stays fp32)")
    String weightsDtype;
    @Option(names = "--phases", split = ",", defaultValue = "zo_high,dtap,bp_low,bp_high",
            description = "phases to run, always in the default order (all of them at 512 px take about an hour on "
                    + "two cores)")
    List<String> phaseNames;
    @Option(names = "--forward-runs", defaultValue = "3",
            description = "no-grad forwards timed for the reference, after one warm-up (default: ${DEFAULT-VALUE})")
    int forwardRuns;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--json", description = "write the results here as JSON")
    Path json;

    private static final int VAE_SCALE = 8;
    private static final String SD_SCHEDULER = "{\"num_train_timesteps\": 1000, \"beta_start\": 0.00085,"
            + " \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\", \"prediction_type\": \"epsilon\"}";

    @Override
    public Integer call() throws IOException {
        if (forwardRuns < 1) {
            throw new IllegalArgumentException("--forward-runs must be at least 1, got " + forwardRuns);
        }
        for (String name : phaseNames) {
            if (!List.of("zo_high", "dtap", "bp_low", "bp_high").contains(name)) {
                throw new IllegalArgumentException("--phases: unknown phase " + name
                        + " (zo_high, dtap, bp_low, bp_high)");
            }
        }
        UNetConfig config = UNetConfig.preset(preset);
        MemoryProbe probe = MemoryProbe.cpu();
        JsonObject out = new JsonObject();
        Autograd.setEnabled(false);
        try (NDManager root = NDManager.newBaseManager("PyTorch")) {
            Precision precision = new Precision(DataType.FLOAT32, WeightsDtype.parse(weightsDtype).held(DataType.FLOAT32));
            UNet2DConditionModel unet = UNet2DConditionModel.random(config, root, precision);
            LoraNetwork lora = LoraNetwork.create(unet, 4, 4f, seed, root);
            LoraParameters params = lora.parameters();
            UNetDenoiser denoiser = new UNetDenoiser(unet);
            DDPMScheduler scheduler = new DDPMScheduler(SchedulerConfig.fromJson(
                    com.google.gson.JsonParser.parseString(SD_SCHEDULER).getAsJsonObject()));
            // What loading left behind (Java garbage, malloc holes) is not the weights.
            FreeMemory.returnJavaHeap();
            FreeMemory.returnNative();
            long weights = probe.read().currentBytes();
            System.out.printf(Locale.ROOT, "%s UNet, random weights held as %s (compute fp32), LoRA rank 4 (%d "
                    + "parameters); resident set with weights: %s%n", preset, weightsDtype, lora.parameters().count(),
                    gib(weights));

            int latent = resolution / VAE_SCALE;
            double forwardSeconds;
            long forwardPeak;
            try (NDManager m = root.newSubManager()) {
                Conditioning cond = randomConditioning(config, m);
                NDArray x = gaussian(m, new SplittableRandom(seed), 1, config.inChannels(), latent, latent);
                NDArray t = m.create(new long[] {500});
                unet.forward(x, t, cond.hiddenStates(), null).close(); // warm-up: libtorch's first-call costs
                // The median of a few forwards: one forward on a shared machine can be off by 10% either way,
                // and the ZO step is judged in forwards.
                double[] seconds = new double[forwardRuns];
                forwardPeak = 0;
                for (int i = 0; i < forwardRuns; i++) {
                    probe.reset();
                    long started = System.nanoTime();
                    unet.forward(x, t, cond.hiddenStates(), null).close();
                    seconds[i] = (System.nanoTime() - started) / 1e9;
                    forwardPeak = Math.max(forwardPeak, probe.read().peakBytes());
                }
                Arrays.sort(seconds);
                forwardSeconds = seconds[forwardRuns / 2];
            }
            out.addProperty("preset", preset);
            out.addProperty("resolution", resolution);
            out.addProperty("weights_dtype", weightsDtype);
            out.addProperty("gradient_checkpointing", gradientCheckpointing);
            // Weights held in another dtype are checkpointed whatever the option says (see lossAndBackward).
            out.addProperty("bp_steps_checkpointed", unet.checkpointsBackward(gradientCheckpointing));
            checkpointedAnyway = !gradientCheckpointing && unet.checkpointsBackward(false);
            out.addProperty("zo_perturbations", perturbations);
            out.addProperty("weights_bytes", weights);
            out.addProperty("forward_seconds", forwardSeconds);
            out.addProperty("no_grad_forward_peak_bytes", forwardPeak);
            System.out.printf(Locale.ROOT, "no-grad forward at %d px: %.2f s, peak %s (%s above the weights)%n",
                    resolution, forwardSeconds, gib(forwardPeak), gib(forwardPeak - weights));

            Map<String, Phase> phases = new LinkedHashMap<>();
            if (phaseNames.contains("zo_high")) {
                phases.put("zo_high", new Phase(Schedule.ZO_HIGH, 0.5, steps));
            }
            if (phaseNames.contains("dtap")) {
                phases.put("dtap", new Phase(Schedule.DTAP, 0.5, dtapSteps));
            }
            if (phaseNames.contains("bp_low")) {
                for (double r : ratios) {
                    phases.put("bp_low_r" + trim(r), new Phase(Schedule.BP_LOW, r, steps));
                }
            }
            if (phaseNames.contains("bp_high")) {
                phases.put("bp_high", new Phase(Schedule.BP_HIGH, 1.0, steps));
            }

            JsonObject strategies = new JsonObject();
            Map<String, JsonObject> rows = new LinkedHashMap<>();
            for (Map.Entry<String, Phase> e : phases.entrySet()) {
                Phase p = e.getValue();
                TrainingConfig cfg = TrainingConfig.builder("bench").schedule(p.schedule()).steps(p.steps())
                        .resolution(resolution).resizeRatio(p.ratio()).zoPerturbations(perturbations)
                        .gradientCheckpointing(gradientCheckpointing).checkpointEvery(0).build();
                Resolutions res = Resolutions.of(cfg.resolution(), cfg.resizeRatio(), resolution, VAE_SCALE, config.levels());
                System.out.printf(Locale.ROOT, "%s: %d step(s), high %d px, low %d px ...%n", e.getKey(), p.steps(),
                        res.high(), res.low());
                TrainingLoop.Outcome o;
                try (TrainingData data = randomData(config, res, root.newSubManager())) {
                    o = new TrainingLoop(denoiser, params, scheduler, data, cfg, seed, root, probe)
                            .run(BenchTrainerCommand::printStep, CancellationToken.NEVER, CheckpointStore.NONE);
                }
                JsonObject row = row(o, p.steps() > 1);
                if (p.schedule() == Schedule.ZO_HIGH) {
                    double forwards = row.get("seconds_per_step").getAsDouble() / forwardSeconds;
                    row.addProperty("forwards_per_step", 2 * perturbations);
                    row.addProperty("step_cost_in_forwards", forwards);
                }
                strategies.add(e.getKey(), row);
                rows.put(e.getKey(), row);
            }
            out.add("strategies", strategies);
            lora.close();
            printTable(weights, forwardPeak, forwardSeconds, rows);
            printBars(weights, forwardPeak, forwardSeconds, rows);
        }
        if (json != null) {
            Files.writeString(json, new GsonBuilder().setPrettyPrinting().create().toJson(out));
            System.out.println("wrote " + json);
        }
        return 0;
    }

    private record Phase(Schedule schedule, double ratio, int steps) {
    }

    /** peak over all steps; seconds per step over the steps after the first when there are several (warm-up). */
    private static JsonObject row(TrainingLoop.Outcome o, boolean skipFirst) {
        List<StepReport> h = o.history();
        long peak = h.stream().mapToLong(StepReport::peakBytes).max().orElse(0);
        List<StepReport> timed = skipFirst && h.size() > 1 ? h.subList(1, h.size()) : h;
        double seconds = timed.stream().mapToDouble(StepReport::seconds).average().orElse(Double.NaN);
        JsonObject row = new JsonObject();
        row.addProperty("peak_bytes", peak);
        row.addProperty("seconds_per_step", seconds);
        row.addProperty("steps", h.size());
        row.addProperty("bp_steps", o.bpSteps());
        row.addProperty("zo_steps", o.zoSteps());
        row.addProperty("bp_peak_bytes", o.memory().bpPeakBytes());
        row.addProperty("zo_peak_bytes", o.memory().zoPeakBytes());
        return row;
    }

    private boolean checkpointedAnyway;

    private void printTable(long weights, long forwardPeak, double forwardSeconds, Map<String, JsonObject> rows) {
        System.out.println();
        System.out.printf(Locale.ROOT, "%s UNet, %d px, fp32 CPU, weights held as %s, gradient checkpointing %s%s, "
                + "ZO N=%d%n", preset, resolution, weightsDtype, gradientCheckpointing ? "on" : "off",
                checkpointedAnyway ? " (BP steps checkpointed anyway: fp16-held weights)" : "", perturbations);
        System.out.printf(Locale.ROOT, "%-16s %12s %14s %10s %8s%n", "phase", "peak", "above weights",
                "s/step", "steps");
        System.out.printf(Locale.ROOT, "%-16s %12s %14s %10.2f %8s%n", "no-grad forward", gib(forwardPeak),
                gib(forwardPeak - weights), forwardSeconds, "-");
        rows.forEach((name, r) -> {
            long peak = r.get("peak_bytes").getAsLong();
            String mix = r.get("bp_steps").getAsInt() + " BP/" + r.get("zo_steps").getAsInt() + " ZO";
            System.out.printf(Locale.ROOT, "%-16s %12s %14s %10.2f %8s%n", name, gib(peak), gib(peak - weights),
                    r.get("seconds_per_step").getAsDouble(), mix);
        });
        System.out.printf(Locale.ROOT, "weights (resident set before any step): %s%n", gib(weights));
    }

    private void printBars(long weights, long forwardPeak, double forwardSeconds, Map<String, JsonObject> rows) {
        System.out.println();
        JsonObject zo = rows.get("zo_high");
        JsonObject dtap = rows.get("dtap");
        JsonObject bpHigh = rows.get("bp_high");
        if (zo != null) {
            System.out.printf(Locale.ROOT, "ZO-high peak / no-grad forward peak: %.3f (bar <= 1.10)%n",
                    peak(zo) / (double) forwardPeak);
            System.out.printf(Locale.ROOT, "ZO step / forward: %.2f forwards (bar <= 2N+1 = %d)%n",
                    zo.get("seconds_per_step").getAsDouble() / forwardSeconds, 2 * perturbations + 1);
        }
        if (dtap != null) {
            System.out.printf(Locale.ROOT, "dtap peak above weights: %s (bar <= 1 GiB)%n", gib(peak(dtap) - weights));
            System.out.printf(Locale.ROOT, "dtap peak in total, weights included: %s (bar with fp16-held weights: "
                    + "<= 2.5 GiB)%n", gib(peak(dtap)));
            if (bpHigh != null) {
                System.out.printf(Locale.ROOT, "dtap peak / BP-high peak: %.3f (bar <= 0.45)%n",
                        peak(dtap) / (double) peak(bpHigh));
            }
        }
    }

    private static long peak(JsonObject row) {
        return row.get("peak_bytes").getAsLong();
    }

    private static Conditioning randomConditioning(UNetConfig config, NDManager m) {
        SplittableRandom random = StepRandom.forPurpose(0, "bench-text");
        NDArray text = gaussian(m, random, 1, 77, config.crossAttentionDim()[0]);
        if (!"text_time".equals(config.additionEmbedType())) {
            return Conditioning.of(text);
        }
        int pooled = config.projectionClassEmbeddingsInputDim() - 6 * config.additionTimeEmbedDim();
        NDArray timeIds = m.create(new float[] {1024, 1024, 0, 0, 1024, 1024}, new Shape(1, 6));
        return new Conditioning(text, gaussian(m, random, 1, pooled), timeIds);
    }

    /** One "image": random latents at both resolutions (what the VAE would give), random text states. */
    private static TrainingData randomData(UNetConfig config, Resolutions res, NDManager m) {
        SplittableRandom random = StepRandom.forPurpose(0, "bench-latents");
        int c = config.inChannels();
        NDArray high = gaussian(m, random, 1, c, res.high() / VAE_SCALE, res.high() / VAE_SCALE);
        NDArray low = gaussian(m, random, 1, c, res.low() / VAE_SCALE, res.low() / VAE_SCALE);
        Conditioning cond = randomConditioning(config, m);
        return new TrainingData(m, List.of(new TrainingData.Latents(high, low, null, null)), cond, cond, List.of(),
                null, null);
    }

    private static NDArray gaussian(NDManager m, SplittableRandom random, long... shape) {
        Shape s = new Shape(shape);
        return m.create(StepRandom.gaussians(random, Math.toIntExact(s.size())), s);
    }

    private static void printStep(StepReport r) {
        System.out.printf(Locale.ROOT, "  step %d %-7s t=%3d  %.2fs  peak %s%n", r.step(), r.strategy().wireName(),
                r.timestep(), r.seconds(), gib(r.peakBytes()));
    }

    private static String trim(double r) {
        String s = Double.toString(r);
        return s.endsWith(".0") ? s.substring(0, s.length() - 2) : s;
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
