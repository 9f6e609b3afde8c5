package dev.selectune.cli;

import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.GsonBuilder;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.ConstantPages;
import dev.selectune.diffusion.nn.Kernels;
import dev.selectune.diffusion.nn.MemoryFormat;
import dev.selectune.diffusion.nn.NativeAllocator;
import dev.selectune.diffusion.nn.TorchRuntime;
import dev.selectune.diffusion.nn.OpProfile;
import dev.selectune.diffusion.nn.ProcessStat;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.unet.UNetConfig;
import dev.selectune.diffusion.unet.UNetFlops;
import dev.selectune.training.memory.FreeMemory;
import dev.selectune.training.memory.HeapTrimming;
import dev.selectune.training.memory.MemoryProbe;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;

/**
 * {@code bench unet}: speed and memory of one UNet forward without gradients and of one forward+backward into a
 * LoRA, on the CPU in fp32 at batch 1, next to the machine's fp32 matrix-multiply throughput through DJL measured in
 * the same run. Memory is the process resident set's high-water mark per phase minus the resident set right after
 * the weights were loaded.
 */
@Command(name = "unet", mixinStandardHelpOptions = true,
        description = "Benchmark a UNet forward (no grad) and forward+backward into a LoRA: seconds, peak memory "
                + "above the weights, FLOPs and the fraction of the measured matmul throughput.")
public final class BenchUnetCommand implements Callable<Integer> {
    @Option(names = "--preset", defaultValue = "sd15", description = "built-in full-size config: sd15, sd21, sdxl (random weights)")
    String preset;

    @Option(names = "--model", description = "a diffusers UNet folder (config.json + weights) instead of a preset")
    Path model;

    @Option(names = "--resolution", defaultValue = "512", description = "image side in pixels (the latent is 1/8)")
    int resolution;

    @Option(names = "--warmup", defaultValue = "1", description = "untimed runs before each measurement")
    int warmup;

    @Option(names = "--iterations", defaultValue = "2", description = "timed runs per phase (the mean is reported)")
    int iterations;

    @Option(names = "--trim-after-growth-mib", description = "trim malloc's free pages before a run once they have "
            + "raised a run's peak this much, as the trainer does between BP-high steps (default: the trainer's); 0 "
            + "trims before every run, as the trainer does before BP-low and ZO-high steps")
    Long trimAfterGrowthMib;

    @Option(names = "--lora-rank", defaultValue = "4")
    int loraRank;

    @Option(names = "--backward", defaultValue = "checkpointed",
            description = "checkpointed (segment by segment: one resnet, transformer projection or transformer block at "
                    + "a time, as the trainer runs it), plain (one graph; weights held in fp16 are checkpointed "
                    + "anyway), or none")
    String backward;

    @Option(names = "--threads", description = "libtorch intra-op threads (default: libtorch's, one per core); on a "
            + "machine shared with other jobs, 1 thread avoids measuring the threads' waits for each other")
    Integer threads;

    @Option(names = "--malloc-threshold", defaultValue = "0", description = "fix glibc's mmap/trim threshold at this "
            + "many bytes (see NativeAllocator; 262144 is the lean setting); 0 leaves the policy the process started "
            + "with (16 MiB, or what SELECTUNE_MALLOC_THRESHOLD says; 0 there keeps glibc's dynamic one)")
    int mallocThreshold;

    @Option(names = "--kernels", defaultValue = "fused", description = "fused (libtorch's attention, group norm and "
            + "silu through TorchScript) or fallback (DJL compositions); run both to compare")
    String kernels;

    @Option(names = "--weights-dtype", split = ",", defaultValue = "fp32", description = "frozen weights held as "
            + "fp32 and/or fp16 (upcast per layer, compute in fp32); a list (fp32,fp16) measures each in this run")
    List<String> weightsDtypes;

    @Option(names = "--memory-format", split = ",", defaultValue = "channels-last", description = "layout of the "
            + "convolution kernels and activations: channels-last and/or contiguous (NCHW, as diffusers runs by "
            + "default); a list measures each in this run")
    List<String> memoryFormats;

    @Option(names = "--profile", description = "after the timed forwards, one more no-grad forward with the time and "
            + "the cores busy (process CPU time / wall time) by op kind")
    boolean profile;

    @Option(names = "--json", description = "write the results as JSON here")
    Path json;

    @Option(names = "--trace", description = "after the timed runs, one more forward + backward (or forward, with "
            + "--backward none) under libtorch's profiler, written here as a Chrome trace (chrome://tracing, "
            + "Perfetto): every aten op and autograd node of the run with its time")
    Path trace;

    @Override
    public Integer call() throws IOException {
        if (!backward.equals("checkpointed") && !backward.equals("plain") && !backward.equals("none")) {
            throw new IllegalArgumentException("--backward must be checkpointed, plain or none, got " + backward);
        }
        if (trimAfterGrowthMib != null && trimAfterGrowthMib < 0) {
            throw new IllegalArgumentException("--trim-after-growth-mib must be >= 0, got " + trimAfterGrowthMib);
        }
        Kernels.setMode(Kernels.Mode.parse(kernels));
        if (mallocThreshold > 0) {
            NativeAllocator.returnLargeBlocksToOs(mallocThreshold);
        }
        Engine.getEngine("PyTorch");
        if (threads != null) {
            JniUtils.setNumThreads(threads);
        }
        MemoryProbe probe = MemoryProbe.cpu();
        Map<String, Object> result = new LinkedHashMap<>();
        UNetConfig config = model != null ? UNetConfig.load(model) : UNetConfig.preset(preset);
        long latent = resolution / 8;
        int contextTokens = 77;
        result.put("model", model != null ? model.toString() : "preset " + preset + " (random weights)");
        result.put("resolution", resolution);
        result.put("latent", latent + "x" + latent);
        result.put("batch", 1);
        result.put("dtype", "float32");
        result.put("device", "cpu");
        result.put("intra_op_threads", JniUtils.getNumThreads());
        result.put("kernels", Kernels.mode().toString());
        // What is in force, not what was asked: the runtime may have fixed a threshold before this command ran.
        int fixed = NativeAllocator.fixedThresholdBytes();
        result.put("malloc_mmap_threshold_bytes", fixed > 0 ? fixed : "glibc default (dynamic)");
        result.put("trim_after_peak_growth_bytes", trimAfterGrowthBytes());
        result.put("huge_pages", (NativeAllocator.hugePagesRequested() ? "tensors >= 2 MiB advised" : "off")
                + " (kernel THP mode: " + NativeAllocator.kernelHugePageMode() + ")");
        ConstantPages.Kept kept = ConstantPages.kept();
        result.put("constant_pages", kept == null ? "not kept (" + ConstantPages.SETTING + "=0, or nothing to keep)"
                : kept.toString());
        result.put("omp_wait_policy", System.getenv().getOrDefault("OMP_WAIT_POLICY", "PASSIVE (set by TorchRuntime)"));
        // The machine may be shared: the load says how much of it this run had.
        result.put("load_average_1m_at_start", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());

        Map<String, Map<String, Object>> byDtype = new LinkedHashMap<>();
        List<MemoryFormat.Mode> formats = memoryFormats.stream().map(MemoryFormat.Mode::parse).toList();
        for (String weightsDtype : weightsDtypes) {
            Precision precision = WeightsDtype.parse(weightsDtype).precision(DataType.FLOAT32);
            for (MemoryFormat.Mode format : formats) {
                // Kernels take their layout when loaded, so each format loads the model afresh.
                MemoryFormat.setMode(format);
                Map<String, Object> row = new LinkedHashMap<>(result);
                row.put("weights_dtype", weightsDtype);
                row.put("memory_format", format.toString());
                measure(row, config, precision, latent, contextTokens, probe);
                byDtype.put(formats.size() == 1 ? weightsDtype : weightsDtype + " " + format, row);
            }
        }
        long cpu0 = processCpuNanos();
        double matmul = matmulThroughput(2048, 5);
        double matmulCpu = (processCpuNanos() - cpu0) / 1e9 / 6;
        for (Map<String, Object> row : byDtype.values()) {
            row.put("matmul_flops_per_second", matmul);
            row.put("forward_fraction_of_matmul", (double) row.get("forward_flops_per_second") / matmul);
            // The same fraction in process CPU time, which a loaded machine distorts less than wall time.
            double matmulFlopsPerCpuSecond = 2.0 * 2048 * 2048 * 2048 / matmulCpu;
            double forwardFlopsPerCpuSecond = (double) row.get("forward_flops") / (double) row.get("forward_process_cpu_seconds");
            row.put("forward_fraction_of_matmul_cpu_time", forwardFlopsPerCpuSecond / matmulFlopsPerCpuSecond);
            row.put("load_average_1m_at_end", ManagementFactory.getOperatingSystemMXBean().getSystemLoadAverage());
            row.put("memory_measured_as", probe.describe() + "; phase peak minus the resident set right after loading");
            printTable(row);
            System.out.println();
        }
        if (byDtype.size() > 1) {
            printSideBySide(byDtype);
        }
        if (json != null) {
            Object out = byDtype.size() == 1 ? byDtype.values().iterator().next() : byDtype;
            Files.writeString(json, new GsonBuilder().setPrettyPrinting().create().toJson(out) + "\n");
            System.out.println("wrote " + json);
        }
        return 0;
    }

    /** Loads the UNet with {@code precision}, then times and measures its forward (and backward) into {@code result}. */
    private void measure(Map<String, Object> result, UNetConfig config, Precision precision, long latent,
                         int contextTokens, MemoryProbe probe) {
        try (NDManager base = NDManager.newBaseManager()) {
            long beforeLoad = probe.read().currentBytes();
            probe.reset();
            long t0 = System.nanoTime();
            UNet2DConditionModel unet = model != null
                    ? UNet2DConditionModel.load(model, base, precision)
                    : UNet2DConditionModel.random(config, base, precision);
            double loadSeconds = seconds(t0);
            long weightsResident = probe.read().currentBytes();
            result.put("load_seconds", loadSeconds);
            result.put("weights_resident_bytes", weightsResident - beforeLoad);
            result.put("process_resident_after_load_bytes", weightsResident);
            // Loading goes tensor by tensor into the held dtype: its peak stays near the weights it ends with.
            result.put("load_peak_bytes_above_start", probe.read().peakBytes() - beforeLoad);

            double flops = UNetFlops.forward(config, latent, latent, contextTokens);
            result.put("forward_flops", flops);

            Inputs in = new Inputs(config, latent, contextTokens);
            probe.reset();
            Runnable forwardRun = () -> Autograd.noGrad(() -> {
                try (NDManager step = base.newSubManager()) {
                    unet.forward(in.sample(step), in.timestep(step), in.context(step), in.added(step)).toFloatArray();
                }
            });
            Timing forwardTimes = time(warmup, iterations, forwardRun, probe);
            double forward = forwardTimes.wall();
            double forwardCpu = forwardTimes.cpu();
            result.put("forward_runs_seconds", forwardTimes.runs());
            result.put("forward_minor_page_faults", forwardTimes.minorFaults());
            result.put("forward_kernel_cpu_seconds", forwardTimes.systemSeconds());
            result.put("forward_trimmed_runs", forwardTimes.trimmedRuns());
            long forwardPeak = probe.read().peakBytes() - weightsResident;
            result.put("forward_process_cpu_seconds", forwardCpu);
            result.put("forward_seconds", forward);
            result.put("forward_peak_bytes_above_weights", forwardPeak);
            result.put("forward_flops_per_second", flops / forward);
            result.put("forward_cores_busy", forwardCpu / forward);
            if (profile) {
                result.put("profile", profileForward(unet, in, base));
            }
            if (trace != null && backward.equals("none")) {
                traceRun(forwardRun);
            }

            if (!backward.equals("none")) {
                try (LoraNetwork lora = LoraNetwork.create(unet, loraRank, loraRank, 0, base)) {
                    lora.parameters().setTrainable(true);
                    result.put("lora_rank", loraRank);
                    result.put("lora_parameters", lora.parameters().count());
                    result.put("backward_mode", backward);
                    result.put("backward_checkpointed", unet.checkpointsBackward(backward.equals("checkpointed")));
                    probe.reset();
                    Runnable backwardRun = () -> {
                        try (NDManager step = base.newSubManager()) {
                            NDArray target = step.randomNormal(new Shape(1, config.outChannels(), latent, latent));
                            NDArray loss = unet.lossAndBackward(in.sample(step), in.timestep(step), in.context(step),
                                    in.added(step), out -> out.sub(target).square().mean(),
                                    backward.equals("checkpointed"));
                            loss.getFloat();
                            lora.parameters().zeroGradients();
                        }
                    };
                    Timing bwd = time(warmup, iterations, backwardRun, probe);
                    result.put("backward_seconds", bwd.wall());
                    result.put("backward_runs_seconds", bwd.runs());
                    result.put("backward_minor_page_faults", bwd.minorFaults());
                    result.put("backward_kernel_cpu_seconds", bwd.systemSeconds());
                    result.put("backward_trimmed_runs", bwd.trimmedRuns());
                    result.put("backward_process_cpu_seconds", bwd.cpu());
                    result.put("backward_peak_bytes_above_weights", probe.read().peakBytes() - weightsResident);
                    if (trace != null) {
                        traceRun(backwardRun);
                    }
                    if (backward.equals("plain")) {
                        result.put("graph_bytes_above_weights", graphBytes(unet, in, config, latent, base, probe)
                                - weightsResident);
                    }
                }
            }
        }
    }

    /**
     * One no-grad forward with {@link OpProfile} on: per op kind its wall seconds, process CPU seconds and cores busy
     * (CPU / wall); "other" is the rest of the forward (group norms, element-wise glue, reshapes, scopes).
     */
    private static Map<String, Object> profileForward(UNet2DConditionModel unet, Inputs in, NDManager base) {
        Map<OpProfile.Kind, long[]> totals;
        long wall;
        long ticks;
        try (NDManager step = base.newSubManager()) {
            NDArray sample = in.sample(step);
            NDArray t = in.timestep(step);
            NDArray context = in.context(step);
            AddedConditions added = in.added(step);
            long ticks0 = ProcessStat.read().cpuTicks();
            long wall0 = System.nanoTime();
            OpProfile.start();
            try {
                Autograd.noGrad(() -> unet.forward(sample, t, context, added).toFloatArray());
            } finally {
                totals = OpProfile.stop();
            }
            wall = System.nanoTime() - wall0;
            ticks = ProcessStat.read().cpuTicks() - ticks0;
        }
        Map<String, Object> out = new LinkedHashMap<>();
        long restWall = wall;
        long restTicks = ticks;
        for (OpProfile.Kind kind : OpProfile.Kind.values()) {
            long[] v = totals.getOrDefault(kind, new long[3]);
            out.put(kind.name().toLowerCase(java.util.Locale.ROOT), kindRow(v[0], v[1], v[2]));
            restWall -= v[0];
            restTicks -= v[1];
        }
        out.put("other", kindRow(restWall, restTicks, 0));
        out.put("total", kindRow(wall, ticks, 0));
        return out;
    }

    private static Map<String, Object> kindRow(long wallNanos, long ticks, long calls) {
        Map<String, Object> row = new LinkedHashMap<>();
        double seconds = wallNanos / 1e9;
        double cpu = ticks / (double) ProcessStat.TICKS_PER_SECOND;
        row.put("seconds", seconds);
        row.put("cpu_seconds", cpu);
        row.put("cores_busy", seconds > 0 ? cpu / seconds : 0);
        row.put("calls", calls);
        return row;
    }

    /** The headline figures of each weights dtype in columns. */
    private static void printSideBySide(Map<String, Map<String, Object>> byDtype) {
        System.out.printf("%-36s", "weights held as (and layout)");
        byDtype.keySet().forEach(k -> System.out.printf("%14s", k));
        System.out.println();
        row(byDtype, "weights resident (GiB)", r -> gib(r.get("weights_resident_bytes")));
        row(byDtype, "load peak above start (GiB)", r -> gib(r.get("load_peak_bytes_above_start")));
        row(byDtype, "forward (s)", r -> (double) r.get("forward_seconds"));
        row(byDtype, "forward peak above weights (GiB)", r -> gib(r.get("forward_peak_bytes_above_weights")));
        row(byDtype, "forward / matmul (%)", r -> 100 * (double) r.get("forward_fraction_of_matmul"));
        row(byDtype, "forward cores busy", r -> (double) r.get("forward_cores_busy"));
        if (byDtype.values().iterator().next().containsKey("backward_seconds")) {
            row(byDtype, "forward+backward (s)", r -> (double) r.get("backward_seconds"));
            row(byDtype, "  peak above weights (GiB)", r -> gib(r.get("backward_peak_bytes_above_weights")));
        }
    }

    private static void row(Map<String, Map<String, Object>> byDtype, String name,
                            java.util.function.ToDoubleFunction<Map<String, Object>> value) {
        System.out.printf("%-36s", name);
        byDtype.values().forEach(r -> System.out.printf("%14.3f", value.applyAsDouble(r)));
        System.out.println();
    }

    /**
     * The resident set once a plain forward has recorded its graph, before the backward: what autograd keeps for
     * the backward (plus the weights). One untimed iteration; malloc's free holes are returned first.
     */
    private static long graphBytes(UNet2DConditionModel unet, Inputs in, UNetConfig config, long latent,
                                   NDManager base, MemoryProbe probe) {
        try (NDManager step = base.newSubManager()) {
            NDArray target = step.randomNormal(new Shape(1, config.outChannels(), latent, latent));
            long[] resident = new long[1];
            Autograd.withGrad(() -> {
                NDArray loss = unet.forward(in.sample(step), in.timestep(step), in.context(step), in.added(step))
                        .sub(target).square().mean();
                FreeMemory.returnNative();
                resident[0] = probe.read().currentBytes();
                Autograd.backward(loss);
                return loss;
            });
            return resident[0];
        }
    }

    /** Random inputs of the right shapes; SDXL-like configs also get pooled text embeddings and time ids. */
    private record Inputs(UNetConfig config, long latent, int contextTokens) {
        NDArray sample(NDManager m) {
            return m.randomNormal(new Shape(1, config.inChannels(), latent, latent));
        }

        NDArray timestep(NDManager m) {
            return m.create(new long[] {500});
        }

        NDArray context(NDManager m) {
            return m.randomNormal(new Shape(1, contextTokens, config.crossAttentionDim()[0]));
        }

        AddedConditions added(NDManager m) {
            if (!config.hasTextTimeEmbedding()) {
                return null;
            }
            long pooled = config.projectionClassEmbeddingsInputDim() - 6L * config.additionTimeEmbedDim();
            float side = latent * 8;
            return new AddedConditions(m.randomNormal(new Shape(1, pooled)),
                    m.create(new float[] {side, side, 0, 0, side, side}, new Shape(1, 6)));
        }
    }

    /** fp32 matmul throughput through DJL: n x n times n x n, best of {@code runs} after one warmup. */
    static double matmulThroughput(int n, int runs) {
        try (NDManager m = NDManager.newBaseManager()) {
            NDArray a = m.randomNormal(new Shape(n, n));
            NDArray b = m.randomNormal(new Shape(n, n));
            a.matMul(b).close();
            double best = Double.MAX_VALUE;
            for (int i = 0; i < runs; i++) {
                long t0 = System.nanoTime();
                NDArray c = a.matMul(b);
                c.getFloat(0, 0);
                best = Math.min(best, seconds(t0));
                c.close();
            }
            return 2.0 * n * n * n / best;
        }
    }

    /** Runs {@code body} once under libtorch's profiler and writes its Chrome trace to {@link #trace}. */
    private void traceRun(Runnable body) {
        FreeMemory.returnNative();
        JniUtils.startProfile(false, true, false);
        long t0 = System.nanoTime();
        ProcessStat s0 = ProcessStat.read();
        try {
            body.run();
        } finally {
            JniUtils.stopProfile(trace.toAbsolutePath().toString());
        }
        ProcessStat d = ProcessStat.read().since(s0);
        System.out.printf("traced run: %.3f s (%,d page faults, %.2f s kernel CPU), trace written to %s%n", seconds(t0),
                d.minorFaults(), d.systemSeconds(), trace);
    }

    /**
     * The timed runs: mean wall-clock and process CPU seconds, each run's wall-clock seconds, and how many timed runs
     * began with a trim of malloc's free pages.
     */
    private record Timing(double wall, double cpu, List<Double> runs, long minorFaults, double systemSeconds,
                          int trimmedRuns) {
    }

    private Timing time(int warmup, int iterations, Runnable body, MemoryProbe probe) {
        // As the trainer trims between steps of one strategy: the runs of a phase are steps of one kind.
        HeapTrimming trimming = new HeapTrimming(probe, trimAfterGrowthBytes());
        for (int i = 0; i < warmup; i++) {
            trimming.beforeStep(body);
            body.run();
        }
        long wall = 0;
        long cpu = 0;
        List<Double> runs = new ArrayList<>();
        ProcessStat stat0 = ProcessStat.read();
        int trims0 = trimming.trims();
        for (int i = 0; i < iterations; i++) {
            trimming.beforeStep(body);
            long cpu0 = processCpuNanos();
            long t0 = System.nanoTime();
            body.run();
            long run = System.nanoTime() - t0;
            wall += run;
            cpu += processCpuNanos() - cpu0;
            runs.add(run / 1e9);
        }
        ProcessStat stat = ProcessStat.read().since(stat0);
        return new Timing(wall / 1e9 / iterations, cpu / 1e9 / iterations, runs, stat.minorFaults() / iterations,
                stat.systemSeconds() / iterations, trimming.trims() - trims0);
    }

    private long trimAfterGrowthBytes() {
        return trimAfterGrowthMib == null ? HeapTrimming.DEFAULT_PEAK_GROWTH_BYTES : trimAfterGrowthMib << 20;
    }

    private static long processCpuNanos() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private static double seconds(long startNanos) {
        return (System.nanoTime() - startNanos) / 1e9;
    }

    private static void printTable(Map<String, Object> r) {
        System.out.printf("%-40s %s%n", "UNet", r.get("model"));
        System.out.printf("%-40s %s px, latent %s, batch 1, fp32 compute, cpu, %s intra-op threads%n", "input",
                r.get("resolution"), r.get("latent"), r.get("intra_op_threads"));
        System.out.printf("%-40s %s%n", "kernels", r.get("kernels"));
        System.out.printf("%-40s %s%n", "memory format", r.get("memory_format"));
        System.out.printf("%-40s %s%n", "huge pages", r.get("huge_pages"));
        System.out.printf("%-40s %s%n", "libtorch constant pages", r.get("constant_pages"));
        System.out.printf("%-40s %s%n", "malloc trims", (long) r.get("trim_after_peak_growth_bytes") == 0
                ? "before every run" : "when a phase starts, and once free pages raise a run's peak by "
                + ((long) r.get("trim_after_peak_growth_bytes") >> 20) + " MiB");
        System.out.printf("%-40s %s%n", "weights held as", r.get("weights_dtype"));
        System.out.printf("%-40s %.2f GiB%n", "weights (resident)", gib(r.get("weights_resident_bytes")));
        System.out.printf("%-40s %.2f GiB%n", "  loading peak above start", gib(r.get("load_peak_bytes_above_start")));
        System.out.printf("%-40s %.3f s%n", "forward (no grad)", (double) r.get("forward_seconds"));
        System.out.printf("%-40s %.3f GiB%n", "  peak above weights", gib(r.get("forward_peak_bytes_above_weights")));
        printFaults(r, "forward");
        if (r.containsKey("backward_seconds")) {
            System.out.printf("%-40s %.3f s%n", "forward+backward into LoRA (" + r.get("backward_mode")
                            + ((Boolean) r.get("backward_checkpointed") && r.get("backward_mode").equals("plain")
                            ? ", checkpointed anyway" : "") + ")",
                    (double) r.get("backward_seconds"));
            System.out.printf("%-40s %.3f GiB%n", "  peak above weights", gib(r.get("backward_peak_bytes_above_weights")));
            printFaults(r, "backward");
            System.out.printf("%-40s %.2f x%n", "  time / forward's",
                    (double) r.get("backward_seconds") / (double) r.get("forward_seconds"));
            if (r.containsKey("graph_bytes_above_weights")) {
                System.out.printf("%-40s %.3f GiB%n", "  kept for backward (after forward)",
                        gib(r.get("graph_bytes_above_weights")));
            }
        }
        System.out.printf("%-40s %.1f GFLOP%n", "forward FLOPs", (double) r.get("forward_flops") / 1e9);
        System.out.printf("%-40s %.1f GFLOP/s%n", "forward achieved", (double) r.get("forward_flops_per_second") / 1e9);
        System.out.printf("%-40s %.1f GFLOP/s%n", "fp32 matmul 2048^2 (DJL)", (double) r.get("matmul_flops_per_second") / 1e9);
        System.out.printf("%-40s %.1f %%%n", "forward / matmul", 100 * (double) r.get("forward_fraction_of_matmul"));
        System.out.printf("%-40s %.1f %%%n", "  same in process CPU time", 100 * (double) r.get("forward_fraction_of_matmul_cpu_time"));
        System.out.printf("%-40s %.2f%n", "forward cores busy (CPU / wall)", (double) r.get("forward_cores_busy"));
        System.out.printf("%-40s %.1f -> %.1f%n", "load average (1 min)", r.get("load_average_1m_at_start"), r.get("load_average_1m_at_end"));
        if (r.containsKey("profile")) {
            @SuppressWarnings("unchecked")
            Map<String, Map<String, Object>> p = (Map<String, Map<String, Object>>) r.get("profile");
            System.out.printf("%-16s %10s %8s %10s %8s%n", "profile (no grad)", "seconds", "share", "CPU s", "cores");
            double total = (double) p.get("total").get("seconds");
            p.forEach((kind, v) -> System.out.printf("%-16s %10.3f %7.1f%% %10.2f %8.2f%n", kind,
                    (double) v.get("seconds"), 100 * (double) v.get("seconds") / total, (double) v.get("cpu_seconds"),
                    (double) v.get("cores_busy")));
        }
    }

    /** Per run: the minor page faults and the kernel's CPU time, where fresh memory costs. */
    private static void printFaults(Map<String, Object> r, String phase) {
        System.out.printf("%-40s %,d faults, %.2f s kernel CPU; %d of the timed runs trimmed first%n",
                "  page faults per run", (long) r.get(phase + "_minor_page_faults"),
                (double) r.get(phase + "_kernel_cpu_seconds"), (int) r.get(phase + "_trimmed_runs"));
    }

    private static double gib(Object bytes) {
        return ((Number) bytes).doubleValue() / (1L << 30);
    }
}
