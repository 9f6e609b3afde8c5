package dev.selectune.cli;

import ai.djl.Device;
import ai.djl.engine.Engine;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import ai.djl.pytorch.jni.JniUtils;
import com.google.gson.GsonBuilder;
import com.google.gson.JsonArray;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.PipelineFolder;
import dev.selectune.diffusion.pipeline.TextEncoders;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.vae.AutoencoderKL;
import dev.selectune.training.CancellationToken;
import dev.selectune.training.CheckpointStore;
import dev.selectune.training.MemorySummary;
import dev.selectune.training.SelectiveTrainer;
import dev.selectune.training.TrainingCheckpoint;
import dev.selectune.training.TrainingConfig;
import dev.selectune.training.TrainingResult;
import dev.selectune.training.data.ImageDecoder;
import dev.selectune.training.pretrain.DenoisingProbe;
import dev.selectune.training.pretrain.Pretrainer;
import dev.selectune.training.pretrain.Specificity;
import dev.selectune.training.schedule.Schedule;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Font;
import java.awt.Graphics2D;
import java.awt.RenderingHints;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;

/**
 * {@code bench personalization}: the paper's ablation on a base that has learned to denoise photos
 * ({@code pretrain}). For each subject and schedule, a LoRA is trained with the real {@link SelectiveTrainer} on the
 * subject's first photos; its denoising loss relative to the base model is measured on fixed draws at the high
 * resolution, on the subject's unseen photos (personalization) and on the other held-out subjects' photos
 * (leakage), every {@code --eval-every} steps. See docs/quality.md for a run and its reading.
 */
@Command(name = "personalization", mixinStandardHelpOptions = true,
        description = "Specificity of LoRAs trained with each schedule on a pretrained base (denoising loss).")
public final class BenchPersonalizationCommand implements Callable<Integer> {
    @Option(names = "--model", defaultValue = "bench-data/tiny-sd15-dreambooth",
            description = "pretrained pipeline (default: ${DEFAULT-VALUE})")
    Path model;
    @Option(names = "--dataset", defaultValue = "bench-data/dreambooth", description = "default: ${DEFAULT-VALUE}")
    Path dataset;
    @Option(names = "--subjects", split = ",", defaultValue = "dog,cat,teapot,backpack",
            description = "subjects to personalize; the others of --held-out measure leakage (default: ${DEFAULT-VALUE})")
    List<String> subjects;
    @Option(names = "--held-out", split = ",", defaultValue = "dog,cat,teapot,backpack",
            description = "subjects the base never saw (default: ${DEFAULT-VALUE})")
    List<String> heldOut;
    @Option(names = "--schedules", split = ",", defaultValue = "bp_high,bp_low,zo_high,dtap,tap,random,reversed",
            description = "default: ${DEFAULT-VALUE}")
    List<String> schedules;
    @Option(names = "--steps", defaultValue = "100", description = "steps per LoRA (default: ${DEFAULT-VALUE})")
    int steps;
    @Option(names = "--eval-every", defaultValue = "50",
            description = "score the LoRA every N steps too, for the curve (default: ${DEFAULT-VALUE})")
    int evalEvery;
    @Option(names = "--train-images", defaultValue = "4", description = "photos a LoRA trains on (default: ${DEFAULT-VALUE})")
    int trainImages;
    @Option(names = "--leakage-photos", defaultValue = "2",
            description = "photos per other subject for leakage, 0 = all (default: ${DEFAULT-VALUE})")
    int leakagePhotos;
    @Option(names = "--draws-per-band", defaultValue = "4",
            description = "(t, noise) draws per image and timestep band (default: ${DEFAULT-VALUE})")
    int drawsPerBand;
    @Option(names = "--learning-rate", defaultValue = "1e-3",
            description = "BP learning rate (default: ${DEFAULT-VALUE}; the paper's 1e-4 barely moves in 100 steps)")
    double learningRate;
    @Option(names = "--zo-learning-rate", description = "ZO learning rate (default: the trainer's)")
    Double zoLearningRate;
    @Option(names = "--resize-ratio", defaultValue = "0.5", description = "r of BP-low (default: ${DEFAULT-VALUE})")
    double resizeRatio;
    @Option(names = "--seed", defaultValue = "0")
    long seed;
    @Option(names = "--threads", defaultValue = "1",
            description = "libtorch threads per run (default: ${DEFAULT-VALUE}: this tiny UNet's ops are too small "
                    + "to share between cores, so cores are better used by --parallel)")
    int threads;
    @Option(names = "--parallel", defaultValue = "0",
            description = "subjects benched at once (default: 0 = the cores / --threads)")
    int parallel;
    @Option(names = "--json", description = "write the results here as JSON")
    Path json;
    @Option(names = "--markdown", description = "write the table here")
    Path markdown;
    @Option(names = "--chart", description = "write the PNG chart (specificity against step) here")
    Path chart;

    /** Subjects benched at once in this run (the resolved --parallel). */
    private int workers = 1;

    @Override
    public Integer call() throws IOException {
        System.setProperty("java.awt.headless", "true");
        Map<String, String> classes = classes(dataset.resolve("prompts_and_classes.txt"));
        for (String s : subjects) {
            if (!heldOut.contains(s)) {
                System.err.println("subjects: '" + s + "' is not in --held-out (the base may have seen it)");
                return 2;
            }
        }
        List<Schedule> parsed = schedules.stream().map(Schedule::fromWireName).toList();
        Path work = Files.createTempDirectory("bench-personalization");
        Engine.getEngine("PyTorch");
        JniUtils.setNumThreads(threads);
        workers = parallel > 0 ? parallel
                : Math.max(1, Runtime.getRuntime().availableProcessors() / Math.max(1, threads));
        workers = Math.min(workers, subjects.size());
        System.out.printf(Locale.ROOT, "%d subject(s) at once, %d libtorch thread(s) each%n", workers, threads);
        Map<String, Map<Schedule, Run>> bySubject = new LinkedHashMap<>();
        ExecutorService pool = Executors.newFixedThreadPool(workers);
        try {
            List<Future<Map<Schedule, Run>>> futures = new ArrayList<>();
            for (String subject : subjects) {
                futures.add(pool.submit(() -> benchSubject(subject, classes, parsed, work)));
            }
            for (int i = 0; i < subjects.size(); i++) {
                bySubject.put(subjects.get(i), futures.get(i).get());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (ExecutionException e) {
            throw e.getCause() instanceof RuntimeException r ? r : new IllegalStateException(e.getCause());
        } finally {
            pool.shutdownNow();
        }
        Map<Schedule, Map<String, Run>> runs = new LinkedHashMap<>();
        for (Schedule schedule : parsed) {
            Map<String, Run> row = new LinkedHashMap<>();
            bySubject.forEach((subject, r) -> row.put(subject, r.get(schedule)));
            runs.put(schedule, row);
        }
        JsonObject out = report(runs);
        String table = table(runs);
        System.out.println();
        System.out.println(table);
        if (json != null) {
            Files.writeString(json, new GsonBuilder().setPrettyPrinting().create().toJson(out) + "\n");
            System.out.println("wrote " + json);
        }
        if (markdown != null) {
            Files.writeString(markdown, table);
            System.out.println("wrote " + markdown);
        }
        if (chart != null) {
            Charts.write(chart, curves(runs), steps);
            System.out.println("wrote " + chart);
        }
        return 0;
    }

    /** One LoRA run: its scores at each evaluated step (the last is the final LoRA), time and peaks. */
    record Run(TreeMap<Integer, Specificity> curve, double seconds, MemorySummary memory) {
        Specificity last() {
            return curve.lastEntry().getValue();
        }
    }

    /** Trains and scores one LoRA per schedule on {@code subject}; runs on its own thread, beside other subjects. */
    private Map<Schedule, Run> benchSubject(String subject, Map<String, String> classes, List<Schedule> parsed,
                                            Path work) throws IOException {
        Map<Schedule, Run> runs = new LinkedHashMap<>();
        List<Path> photos = Pretrainer.imageFiles(dataset.resolve(subject));
        if (photos.size() <= trainImages) {
            throw new IllegalArgumentException(subject + ": " + photos.size() + " photos, need more than "
                    + trainImages + " to keep some unseen");
        }
        List<Path> train = photos.subList(0, trainImages);
        List<Path> unseen = photos.subList(trainImages, photos.size());
        List<Path> others = new ArrayList<>();
        for (String other : heldOut) {
            if (!other.equals(subject)) {
                List<Path> all = Pretrainer.imageFiles(dataset.resolve(other));
                others.addAll(leakagePhotos > 0 && leakagePhotos < all.size() ? all.subList(0, leakagePhotos) : all);
            }
        }
        String cls = classes.getOrDefault(subject, subject);
        String prompt = "a photo of sks " + cls;
        List<byte[]> trainBytes = new ArrayList<>();
        for (Path p : train) {
            trainBytes.add(Files.readAllBytes(p));
        }
        System.out.printf(Locale.ROOT, "%s: LoRAs on %d photos (\"%s\"), personalization on %d unseen, leakage on %d"
                + " photos of %s%n", subject, train.size(), prompt, unseen.size(), others.size(), heldOut);
        PipelineFolder folder = PipelineFolder.open(model);
        int resolution = folder.info().nativeResolution();
        DDPMScheduler scheduler = new DDPMScheduler(SchedulerConfig.fromJson(folder.schedulerConfig()));
        try (NDManager root = NDManager.newBaseManager(Device.cpu())) {
            NDArray context;
            List<float[]> unseenLatents;
            List<float[]> otherLatents;
            Shape shape;
            try (AutoencoderKL vae = folder.loadVae(Device.cpu(), DataType.FLOAT32);
                 TextEncoders text = folder.loadTextEncoders(Device.cpu(), DataType.FLOAT32)) {
                context = Autograd.noGrad(() -> text.encode(prompt, root).get(0).toType(DataType.FLOAT32, true));
                unseenLatents = latents(vae, unseen, resolution);
                otherLatents = latents(vae, others, resolution);
                int side = resolution / folder.info().vaeScaleFactor();
                shape = new Shape(1, unseenLatents.get(0).length / (side * side), side, side);
            }
            DenoisingProbe unseenProbe = new DenoisingProbe(unseenLatents, shape, context, scheduler, drawsPerBand, seed);
            DenoisingProbe othersProbe = new DenoisingProbe(otherLatents, shape, context, scheduler, drawsPerBand,
                    seed + 1);
            try (Owned<UNet2DConditionModel> unet = folder.loadUnet(Device.cpu(), DataType.FLOAT32)) {
                double[][] unseenBase = unseenProbe.losses(unet.model());
                double[][] othersBase = othersProbe.losses(unet.model());
                for (Schedule schedule : parsed) {
                    TrainingConfig config = TrainingConfig.builder(prompt).schedule(schedule).steps(steps).seed(seed)
                            .learningRate(learningRate).resizeRatio(schedule == Schedule.BP_HIGH ? 1.0 : resizeRatio)
                            .zoLearningRate(zoLearningRate != null ? zoLearningRate : 1e-4)
                            .checkpointEvery(evalEvery).precision("fp32").build();
                    Map<Integer, byte[]> snapshots = new TreeMap<>();
                    CheckpointStore capture = new CheckpointStore() {
                        @Override
                        public void save(int step, byte[] checkpoint) {
                            snapshots.put(step, checkpoint);
                        }

                        @Override
                        public Optional<byte[]> load() {
                            return Optional.empty();
                        }
                    };
                    Path dir = work.resolve(subject + "-" + schedule.wireName());
                    long started = System.nanoTime();
                    TrainingResult result = new SelectiveTrainer(model, Device.cpu())
                            .run(trainBytes, config, dir, r -> { }, CancellationToken.NEVER, capture);
                    double seconds = (System.nanoTime() - started) / 1e9;
                    TreeMap<Integer, Specificity> curve = new TreeMap<>();
                    // The checkpoint at the last step holds the final LoRA, scored just below: not twice.
                    snapshots.remove(steps);
                    for (Map.Entry<Integer, byte[]> e : snapshots.entrySet()) {
                        try (LoraNetwork lora = fromCheckpoint(TrainingCheckpoint.decode(e.getValue()), unet.model(),
                                config, root)) {
                            curve.put(e.getKey(), score(unet.model(), unseenProbe, othersProbe, unseenBase, othersBase));
                        }
                    }
                    try (LoraNetwork lora = LoraNetwork.load(result.loraDiffusers(), unet.model(), root)) {
                        curve.put(steps, score(unet.model(), unseenProbe, othersProbe, unseenBase, othersBase));
                    }
                    Run run = new Run(curve, seconds, result.memory());
                    runs.put(schedule, run);
                    Specificity s = run.last();
                    System.out.printf(Locale.ROOT, "  %-8s %-8s specificity %+.3f%%  personalization %+.3f%%  leakage %+.3f%%"
                                    + "  (%d BP / %d ZO steps, %.0f s, peaks BP %s ZO %s)%n", subject, schedule.wireName(),
                            100 * s.specificity(), pct(s.personalization()), pct(s.leakage()), result.bpSteps(),
                            result.zoSteps(), seconds, mib(result.memory().bpPeakBytes()),
                            mib(result.memory().zoPeakBytes()));
                    deleteTree(dir);
                }
            }
        }
        return runs;
    }

    private static Specificity score(UNet2DConditionModel unet, DenoisingProbe unseen, DenoisingProbe others,
                                     double[][] unseenBase, double[][] othersBase) {
        return Specificity.of(DenoisingProbe.BANDS, unseenBase, unseen.losses(unet), othersBase, others.losses(unet));
    }

    /** The LoRA of a mid-run checkpoint, attached to {@code unet}. */
    private static LoraNetwork fromCheckpoint(TrainingCheckpoint c, UNet2DConditionModel unet, TrainingConfig config,
                                              NDManager root) {
        LoraNetwork lora = LoraNetwork.create(unet, config.rank(), config.loraAlphaOrRank(), 0, root);
        LoraParameters params = lora.parameters();
        Autograd.noGrad(() -> {
            for (int i = 0; i < params.names().size(); i++) {
                float[] values = c.lora().get(params.names().get(i));
                if (values == null) {
                    throw new IllegalStateException("checkpoint lacks " + params.names().get(i));
                }
                params.masters().get(i).set(values);
            }
        });
        params.syncWorkingCopies();
        return lora;
    }

    private static List<float[]> latents(AutoencoderKL vae, List<Path> files, int resolution) throws IOException {
        List<float[]> out = new ArrayList<>();
        for (Path f : files) {
            BufferedImage img = ImageDecoder.decode(Files.readAllBytes(f), out.size());
            float[] l = Pretrainer.encode(vae, img, resolution, false);
            for (int i = 0; i < l.length; i++) {
                l[i] *= vae.scalingFactor();
            }
            out.add(l);
        }
        return out;
    }

    /** subject -> class from the DreamBooth {@code prompts_and_classes.txt} ("subject_name,class" lines). */
    static Map<String, String> classes(Path file) throws IOException {
        Map<String, String> out = new LinkedHashMap<>();
        if (!Files.isRegularFile(file)) {
            return out;
        }
        for (String line : Files.readAllLines(file)) {
            String[] parts = line.trim().split(",");
            if (parts.length == 2 && !parts[0].equals("subject_name") && parts[0].matches("[a-z0-9_]+")) {
                out.put(parts[0], parts[1].trim());
            }
        }
        return out;
    }

    private Map<String, TreeMap<Integer, Double>> curves(Map<Schedule, Map<String, Run>> runs) {
        Map<String, TreeMap<Integer, Double>> out = new LinkedHashMap<>();
        runs.forEach((schedule, bySubject) -> {
            TreeMap<Integer, Double> curve = new TreeMap<>();
            curve.put(0, 0.0);
            for (Integer step : bySubject.values().iterator().next().curve().keySet()) {
                curve.put(step, Specificity.mean(bySubject.values().stream().map(r -> r.curve().get(step)).toList())
                        .specificity());
            }
            out.put(schedule.wireName(), curve);
        });
        return out;
    }

    private JsonObject report(Map<Schedule, Map<String, Run>> runs) {
        JsonObject out = new JsonObject();
        out.addProperty("model", model.toString());
        out.addProperty("steps", steps);
        out.addProperty("eval_every", evalEvery);
        out.addProperty("train_images", trainImages);
        out.addProperty("draws_per_band", drawsPerBand);
        out.addProperty("leakage_photos_per_subject", leakagePhotos);
        out.addProperty("learning_rate", learningRate);
        out.addProperty("zo_learning_rate", zoLearningRate != null ? zoLearningRate : 1e-4);
        out.addProperty("resize_ratio", resizeRatio);
        out.addProperty("seed", seed);
        out.addProperty("threads", threads);
        out.addProperty("parallel", workers);
        JsonArray subjectList = new JsonArray();
        subjects.forEach(subjectList::add);
        out.add("subjects", subjectList);
        JsonObject all = new JsonObject();
        runs.forEach((schedule, bySubject) -> {
            Specificity mean = Specificity.mean(bySubject.values().stream().map(Run::last).toList());
            JsonObject row = figures(mean);
            row.addProperty("seconds", bySubject.values().stream().mapToDouble(Run::seconds).sum());
            row.addProperty("bp_peak_bytes", bySubject.values().stream().mapToLong(r -> r.memory().bpPeakBytes()).max().orElse(0));
            row.addProperty("zo_peak_bytes", bySubject.values().stream().mapToLong(r -> r.memory().zoPeakBytes()).max().orElse(0));
            row.addProperty("peak_bytes", bySubject.values().stream().mapToLong(r -> r.memory().peakBytes()).max().orElse(0));
            JsonArray curve = new JsonArray();
            curves(Map.of(schedule, bySubject)).get(schedule.wireName()).forEach((step, spec) -> {
                JsonObject point = new JsonObject();
                point.addProperty("step", step);
                point.addProperty("specificity", spec);
                curve.add(point);
            });
            row.add("curve", curve);
            JsonObject per = new JsonObject();
            bySubject.forEach((subject, run) -> {
                JsonObject s = figures(run.last());
                s.addProperty("seconds", run.seconds());
                s.addProperty("bp_peak_bytes", run.memory().bpPeakBytes());
                s.addProperty("zo_peak_bytes", run.memory().zoPeakBytes());
                per.add(subject, s);
            });
            row.add("subjects", per);
            all.add(schedule.wireName(), row);
        });
        out.add("schedules", all);
        return out;
    }

    static JsonObject figures(Specificity s) {
        JsonObject row = new JsonObject();
        row.addProperty("specificity", s.specificity());
        row.addProperty("personalization", s.personalization());
        row.addProperty("leakage", s.leakage());
        JsonObject bands = new JsonObject();
        for (int b = 0; b < DenoisingProbe.BANDS; b++) {
            JsonObject band = new JsonObject();
            band.addProperty("specificity", s.bandSpecificity(b));
            band.addProperty("personalization", s.bandPersonalization()[b]);
            band.addProperty("leakage", s.bandLeakage()[b]);
            bands.add(bandName(b), band);
        }
        row.add("bands", bands);
        return row;
    }

    static String bandName(int b) {
        return (b * DenoisingProbe.BAND_WIDTH) + "-" + ((b + 1) * DenoisingProbe.BAND_WIDTH);
    }

    private String table(Map<Schedule, Map<String, Run>> runs) {
        StringBuilder sb = new StringBuilder();
        sb.append(String.format(Locale.ROOT, "Denoising loss of each LoRA relative to the base, %d steps, %s; "
                + "specificity = leakage - personalization (percentage points), by timestep band; 'positive' counts "
                + "the subjects whose own specificity is above 0; seconds summed over subjects, %d libtorch thread(s) "
                + "per run; peaks are the process's resident set with %d subject(s) running at once%n%n", steps,
                String.join(", ", subjects), threads, workers));
        sb.append("| schedule | specificity | positive | personalization | leakage | spec. 0-250 | 250-500 | 500-750 "
                + "| 750-1000 | seconds | BP peak | ZO peak |\n");
        sb.append("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
        runs.forEach((schedule, bySubject) -> {
            Specificity s = Specificity.mean(bySubject.values().stream().map(Run::last).toList());
            long positive = bySubject.values().stream().filter(r -> r.last().specificity() > 0).count();
            sb.append(String.format(Locale.ROOT, "| %s | %+.3f | %d/%d | %+.3f%% | %+.3f%% | %+.3f | %+.3f | %+.3f | %+.3f "
                            + "| %.0f | %s | %s |%n", schedule.wireName(), 100 * s.specificity(), positive,
                    bySubject.size(),
                    pct(s.personalization()), pct(s.leakage()), 100 * s.bandSpecificity(0),
                    100 * s.bandSpecificity(1), 100 * s.bandSpecificity(2), 100 * s.bandSpecificity(3),
                    bySubject.values().stream().mapToDouble(Run::seconds).sum(),
                    mib(bySubject.values().stream().mapToLong(r -> r.memory().bpPeakBytes()).max().orElse(0)),
                    mib(bySubject.values().stream().mapToLong(r -> r.memory().zoPeakBytes()).max().orElse(0))));
        });
        return sb.toString();
    }

    /** A ratio as a change in percent: 0.991 is -0.9%. */
    static double pct(double ratio) {
        return 100 * (ratio - 1);
    }

    static String mib(long bytes) {
        return bytes == 0 ? "-" : String.format(Locale.ROOT, "%.0f MiB", bytes / (double) (1L << 20));
    }

    private static void deleteTree(Path dir) {
        try (Stream<Path> s = Files.walk(dir)) {
            s.sorted(java.util.Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The PNG chart: specificity (percentage points) against step, one line per schedule, drawn with java.awt. */
    static final class Charts {
        private static final Color[] COLORS = {new Color(0x1f77b4), new Color(0xd62728), new Color(0x2ca02c),
                new Color(0xff7f0e), new Color(0x9467bd), new Color(0x8c564b), new Color(0x7f7f7f)};

        static void write(Path file, Map<String, TreeMap<Integer, Double>> curves, int steps) throws IOException {
            int w = 900;
            int h = 560;
            int left = 90;
            int right = 190;
            int top = 50;
            int bottom = 70;
            BufferedImage img = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
            Graphics2D g = img.createGraphics();
            g.setRenderingHint(RenderingHints.KEY_ANTIALIASING, RenderingHints.VALUE_ANTIALIAS_ON);
            g.setRenderingHint(RenderingHints.KEY_TEXT_ANTIALIASING, RenderingHints.VALUE_TEXT_ANTIALIAS_ON);
            g.setColor(Color.WHITE);
            g.fillRect(0, 0, w, h);
            double lo = 0;
            double hi = 0;
            for (TreeMap<Integer, Double> c : curves.values()) {
                for (double v : c.values()) {
                    lo = Math.min(lo, 100 * v);
                    hi = Math.max(hi, 100 * v);
                }
            }
            double pad = Math.max(0.05, (hi - lo) * 0.08);
            lo -= pad;
            hi += pad;
            int plotW = w - left - right;
            int plotH = h - top - bottom;
            double yLo = lo;
            double yHi = hi;
            java.util.function.DoubleUnaryOperator y = v -> top + plotH * (1 - (v - yLo) / (yHi - yLo));
            java.util.function.IntUnaryOperator x = s -> left + (int) Math.round(plotW * (double) s / steps);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 13));
            g.setColor(new Color(0xdddddd));
            double tick = niceTick((hi - lo) / 6);
            for (double v = Math.ceil(lo / tick) * tick; v <= hi; v += tick) {
                int yy = (int) Math.round(y.applyAsDouble(v));
                g.setColor(new Color(0xe5e5e5));
                g.drawLine(left, yy, left + plotW, yy);
                g.setColor(Color.DARK_GRAY);
                g.drawString(String.format(Locale.ROOT, "%+.2f", v), 20, yy + 5);
            }
            int stepTick = Math.max(1, steps / 5);
            for (int s = 0; s <= steps; s += stepTick) {
                int xx = x.applyAsInt(s);
                g.setColor(new Color(0xe5e5e5));
                g.drawLine(xx, top, xx, top + plotH);
                g.setColor(Color.DARK_GRAY);
                g.drawString(Integer.toString(s), xx - 8, top + plotH + 20);
            }
            g.setColor(Color.BLACK);
            g.drawRect(left, top, plotW, plotH);
            int zero = (int) Math.round(y.applyAsDouble(0));
            g.setStroke(new BasicStroke(1.5f, BasicStroke.CAP_BUTT, BasicStroke.JOIN_MITER, 10, new float[] {6, 4}, 0));
            g.drawLine(left, zero, left + plotW, zero);
            g.setFont(new Font(Font.SANS_SERIF, Font.BOLD, 16));
            g.drawString("Specificity (leakage - personalization, % points) against LoRA step", left, 30);
            g.setFont(new Font(Font.SANS_SERIF, Font.PLAIN, 14));
            g.drawString("step", left + plotW / 2 - 15, h - 25);
            int i = 0;
            for (Map.Entry<String, TreeMap<Integer, Double>> e : curves.entrySet()) {
                Color c = COLORS[i % COLORS.length];
                g.setColor(c);
                g.setStroke(new BasicStroke(2.5f));
                int[] xs = e.getValue().keySet().stream().mapToInt(x::applyAsInt).toArray();
                int[] ys = e.getValue().values().stream().mapToInt(v -> (int) Math.round(y.applyAsDouble(100 * v)))
                        .toArray();
                g.drawPolyline(xs, ys, xs.length);
                for (int k = 0; k < xs.length; k++) {
                    g.fillOval(xs[k] - 4, ys[k] - 4, 8, 8);
                }
                int ly = top + 20 + 26 * i;
                g.drawLine(left + plotW + 20, ly, left + plotW + 50, ly);
                g.setColor(Color.BLACK);
                g.drawString(e.getKey(), left + plotW + 58, ly + 5);
                i++;
            }
            g.dispose();
            javax.imageio.ImageIO.write(img, "png", file.toFile());
        }

        private static double niceTick(double raw) {
            double mag = Math.pow(10, Math.floor(Math.log10(raw)));
            double f = raw / mag;
            return (f < 1.5 ? 1 : f < 3.5 ? 2 : f < 7.5 ? 5 : 10) * mag;
        }
    }
}
