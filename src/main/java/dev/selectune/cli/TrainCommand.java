package dev.selectune.cli;

import dev.selectune.util.Problem;
import ai.djl.Device;
import dev.selectune.training.CancellationToken;
import dev.selectune.training.CheckpointStore;
import dev.selectune.training.FileCheckpointStore;
import dev.selectune.training.MemorySummary;
import dev.selectune.training.SelectiveTrainer;
import dev.selectune.training.StepReport;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingOverrides;
import dev.selectune.training.TrainingResult;
import dev.selectune.training.schedule.Schedule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Stream;

/**
 * {@code train}: one DreamBooth-LoRA job from the command line, on the same {@link SelectiveTrainer} the service's
 * workers run. Its hyperparameter options are made from {@link TrainingConfig}'s definitions (see
 * {@link HyperparameterOptions}); unset ones keep the defaults. Ctrl-C cancels between steps and
 * leaves a checkpoint that a second run with the same options resumes from.
 */
@Command(name = "train", mixinStandardHelpOptions = true, modelTransformer = HyperparameterOptions.class,
        description = "Train a DreamBooth-LoRA with selective optimization (BP-low / ZO-high).")
public final class TrainCommand implements Callable<Integer>, HyperparameterOptions.Target {
    @Option(names = "--model", required = true, description = "diffusers pipeline folder")
    Path model;
    @Option(names = "--images", required = true, split = ",", description = "image files or a folder of them")
    List<Path> images;
    @Option(names = "--output", required = true, description = "folder for lora.safetensors, metrics.json, samples")
    Path output;
    @Option(names = "--checkpoint", description = "checkpoint file: written every --checkpoint-every steps and on "
            + "Ctrl-C, resumed from when present")
    Path checkpoint;
    @Option(names = "--device", defaultValue = "cpu", description = "cpu or gpu[:N] (default: ${DEFAULT-VALUE})")
    String device;

    /** The hyperparameters given, by JSON name; {@link HyperparameterOptions} makes their options. */
    final Map<String, Object> hyperparameters = new LinkedHashMap<>();

    @picocli.CommandLine.Mixin
    EvaluationOptions evaluation = new EvaluationOptions();

    @Override
    public Integer call() {
        List<Problem> problems = new ArrayList<>();
        TrainingConfig config = config(problems);
        problems.addAll(config.problems());
        problems.addAll(evaluation.problems());
        if (!problems.isEmpty()) {
            System.err.println("invalid options:");
            problems.forEach(p -> System.err.println("  " + HyperparameterOptions.onCommandLine(p)));
            return 2;
        }
        List<byte[]> bytes = readImages();
        CheckpointStore store = checkpoint == null ? CheckpointStore.NONE : new FileCheckpointStore(checkpoint);
        // Ctrl-C: ask the trainer to stop after the current step, and hold the JVM until it has written its
        // checkpoint and results (a shutdown hook that returned at once would let the JVM die mid-step).
        AtomicBoolean interrupted = new AtomicBoolean();
        CountDownLatch finished = new CountDownLatch(1);
        Runtime.getRuntime().addShutdownHook(new Thread(() -> {
            interrupted.set(true);
            try {
                finished.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }));
        CancellationToken cancel = interrupted::get;
        TrainingResult result;
        try {
            result = new SelectiveTrainer(model, parseDevice(device))
                    .run(bytes, config, output, TrainCommand::printStep, cancel, store);
        } finally {
            finished.countDown();
        }
        MemorySummary m = result.memory();
        System.out.printf(Locale.ROOT, "%s after %d steps (%d BP, %d ZO), final loss %.5f, seed %d%n",
                result.cancelled() ? "cancelled" : "done", result.stepsDone(), result.bpSteps(), result.zoSteps(),
                result.finalLoss(), result.seed());
        System.out.printf(Locale.ROOT, "memory on %s: BP peak %s, ZO peak %s, job peak %s (%s)%n", m.device(),
                gib(m.bpPeakBytes()), gib(m.zoPeakBytes()), gib(m.peakBytes()), m.measuredAs());
        System.out.println("LoRA: " + result.loraDiffusers() + " and " + result.loraKohya());
        System.out.println("metrics: " + result.metrics());
        result.samples().forEach(s -> System.out.println("sample: " + s));
        if (evaluation.requested() && !result.cancelled()) {
            evaluation.evaluate(model, parseDevice(device), result.loraDiffusers(), bytes, output, System.out);
        }
        return result.cancelled() ? 130 : 0;
    }

    @Override
    public Map<String, Object> hyperparameters() {
        return hyperparameters;
    }

    TrainingConfig config() {
        return config(new ArrayList<>());
    }

    private TrainingConfig config(List<Problem> problems) {
        return new TrainingOverrides(hyperparameters).toConfig(problems);
    }

    /** Files as given; a folder contributes its .jpg/.jpeg/.png/.webp files in name order. */
    private List<byte[]> readImages() {
        List<Path> files = new ArrayList<>();
        for (Path p : images) {
            if (Files.isDirectory(p)) {
                try (Stream<Path> s = Files.list(p)) {
                    s.filter(TrainCommand::isImageName).sorted().forEach(files::add);
                } catch (IOException e) {
                    throw new UncheckedIOException("cannot list " + p + ": " + e.getMessage(), e);
                }
            } else {
                files.add(p);
            }
        }
        List<byte[]> out = new ArrayList<>();
        for (Path f : files) {
            try {
                out.add(Files.readAllBytes(f));
            } catch (IOException e) {
                throw new IllegalArgumentException("cannot read image " + f + ": " + e.getMessage(), e);
            }
        }
        return out;
    }

    private static boolean isImageName(Path p) {
        String n = p.getFileName().toString().toLowerCase(Locale.ROOT);
        return n.endsWith(".jpg") || n.endsWith(".jpeg") || n.endsWith(".png") || n.endsWith(".webp");
    }

    static Device parseDevice(String name) {
        return Device.fromName(name.equals("cuda") ? "gpu" : name.replace("cuda", "gpu"));
    }

    private static void printStep(StepReport r) {
        System.out.printf(Locale.ROOT, "step %d/%d  %-7s  t=%3d  p_zo=%.3f  loss=%.5f  %.2fs  peak=%s%n", r.step(),
                r.totalSteps(), r.strategy().wireName(), r.timestep(), r.pZo(), r.loss(), r.seconds(),
                gib(r.peakBytes()));
    }

    static String gib(long bytes) {
        return String.format(Locale.ROOT, "%.2f GiB", bytes / (double) (1L << 30));
    }
}
