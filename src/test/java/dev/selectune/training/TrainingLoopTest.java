package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.training.schedule.Schedule;
import dev.selectune.training.schedule.Strategy;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.SortedMap;
import java.util.SplittableRandom;
import java.util.TreeMap;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The step loop on a toy LoRA model: schedules, determinism, checkpoints, resume, cancellation. */
class TrainingLoopTest {
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterEach
    void close() {
        manager.close();
    }

    private static TrainingConfig.Builder config() {
        return TrainingConfig.builder("a photo of sks dog").steps(12).zoPerturbations(2).zoEpsilon(1e-2)
                .zoLearningRate(1e-3).learningRate(1e-2).checkpointEvery(0).horizontalFlip(true);
    }

    /** Runs a job on a fresh toy model and returns its final LoRA masters. */
    private Run run(TrainingConfig cfg, long seed, CancellationToken cancel, MemoryCheckpoints store) {
        NDManager state = manager.newSubManager();
        ToyDenoiser model = new ToyDenoiser(state, 7);
        TrainingData data = toyData(state.newSubManager(), cfg.horizontalFlip());
        List<StepReport> seen = new ArrayList<>();
        TrainingLoop.Outcome outcome = Autograd.noGrad(() -> new TrainingLoop(model, model.parameters(),
                ToyDenoiser.scheduler(), data, cfg, seed, state, MemoryProbe.cpu())
                .run(seen::add, cancel, store));
        List<float[]> lora = model.parameters().masters().stream().map(NDArray::toFloatArray).toList();
        state.close();
        return new Run(outcome, lora, seen);
    }

    private record Run(TrainingLoop.Outcome outcome, List<float[]> lora, List<StepReport> seen) {
    }

    static TrainingData toyData(NDManager m, boolean flips) {
        SplittableRandom random = new SplittableRandom(3);
        List<TrainingData.Latents> images = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            NDArray high = ToyDenoiser.normal(m, random, 1f, 1, 4, 8, 8);
            NDArray low = ToyDenoiser.normal(m, random, 1f, 1, 4, 4, 4);
            images.add(new TrainingData.Latents(high, low, flips ? high.flip(3) : null, flips ? low.flip(3) : null));
        }
        Conditioning prompt = Conditioning.of(ToyDenoiser.normal(m, random, 0.1f, 1, 1, 4));
        return new TrainingData(m, images, prompt, prompt, List.of(), null, null);
    }

    @ParameterizedTest
    @EnumSource(Schedule.class)
    void everyScheduleRunsItsStrategies(Schedule schedule) {
        Run r = run(config().schedule(schedule).build(), 11, CancellationToken.NEVER, new MemoryCheckpoints());
        assertEquals(12, r.outcome().stepsDone());
        assertEquals(12, r.seen().size());
        assertFalse(r.outcome().cancelled());
        for (StepReport s : r.seen()) {
            assertTrue(Double.isFinite(s.loss()) && s.loss() > 0, "loss of step " + s.step());
            assertTrue(s.timestep() >= 0 && s.timestep() < 1000);
            switch (schedule) {
                case BP_HIGH -> assertEquals(Strategy.BP_HIGH, s.strategy());
                case BP_LOW -> assertEquals(Strategy.BP_LOW, s.strategy());
                case ZO_HIGH -> assertEquals(Strategy.ZO_HIGH, s.strategy());
                default -> assertNotEquals(Strategy.BP_HIGH, s.strategy());
            }
        }
        assertEquals(r.outcome().bpSteps() + r.outcome().zoSteps(), 12);
    }

    @Test
    void sameSeedGivesBitwiseIdenticalLora() {
        TrainingConfig cfg = config().schedule(Schedule.RANDOM).build();
        Run a = run(cfg, 42, CancellationToken.NEVER, new MemoryCheckpoints());
        Run b = run(cfg, 42, CancellationToken.NEVER, new MemoryCheckpoints());
        Run c = run(cfg, 43, CancellationToken.NEVER, new MemoryCheckpoints());
        assertTrue(a.outcome().bpSteps() > 0 && a.outcome().zoSteps() > 0, "both strategies exercised");
        for (int i = 0; i < a.lora().size(); i++) {
            assertArrayEquals(a.lora().get(i), b.lora().get(i), 0f, "tensor " + i);
        }
        assertFalse(java.util.Arrays.equals(a.lora().get(1), c.lora().get(1)), "another seed trains differently");
    }

    @Test
    void cancellationCheckpointsAndResumeEqualsUninterruptedRun() {
        TrainingConfig cfg = config().schedule(Schedule.RANDOM).checkpointEvery(4).build();
        Run whole = run(cfg, 5, CancellationToken.NEVER, new MemoryCheckpoints());

        MemoryCheckpoints store = new MemoryCheckpoints();
        AtomicInteger done = new AtomicInteger();
        Run first = runCounting(cfg, store, done, 6);
        assertTrue(first.outcome().cancelled());
        assertEquals(6, first.outcome().stepsDone());
        assertEquals(List.of(4, 6), store.savedSteps, "periodic checkpoint at 4, cancellation checkpoint at 6");

        Run resumed = run(cfg, 5, CancellationToken.NEVER, store);
        assertFalse(resumed.outcome().cancelled());
        assertEquals(6, resumed.seen().size(), "only the remaining steps run");
        assertEquals(7, resumed.seen().get(0).step());
        assertEquals(12, resumed.outcome().history().size(), "history spans the whole job");
        for (int i = 0; i < whole.lora().size(); i++) {
            assertArrayEquals(whole.lora().get(i), resumed.lora().get(i), 0f, "tensor " + i);
        }
        for (int i = 0; i < 12; i++) {
            StepReport w = whole.outcome().history().get(i);
            StepReport r = resumed.outcome().history().get(i);
            assertEquals(w.strategy(), r.strategy());
            assertEquals(w.timestep(), r.timestep());
            assertEquals(w.loss(), r.loss(), 0.0, "loss of step " + (i + 1));
        }
    }

    private Run runCounting(TrainingConfig cfg, MemoryCheckpoints store, AtomicInteger done, int cancelAfter) {
        NDManager state = manager.newSubManager();
        ToyDenoiser model = new ToyDenoiser(state, 7);
        TrainingData data = toyData(state.newSubManager(), cfg.horizontalFlip());
        TrainingLoop.Outcome outcome = new TrainingLoop(model, model.parameters(), ToyDenoiser.scheduler(),
                data, cfg, 5, state, MemoryProbe.cpu())
                .run(r -> done.incrementAndGet(), () -> done.get() >= cancelAfter, store);
        List<float[]> lora = model.parameters().masters().stream().map(NDArray::toFloatArray).toList();
        state.close();
        return new Run(outcome, lora, List.of());
    }

    @Test
    void checkpointOfAnotherJobIsRejected() {
        MemoryCheckpoints store = new MemoryCheckpoints();
        AtomicInteger done = new AtomicInteger();
        runCounting(config().build(), store, done, 2);
        TrainingConfig other = config().learningRate(5e-3).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(other, 5, CancellationToken.NEVER, store));
        assertTrue(e.getMessage().contains("learning_rate: 0.01 in the checkpoint, 0.005 now"), e.getMessage());
    }

    /** Rewrites the stored checkpoint as a version that did not have {@code option} yet would have written it. */
    private static void writtenBefore(MemoryCheckpoints store, String option) {
        TrainingCheckpoint c = TrainingCheckpoint.decode(store.blob);
        SortedMap<String, String> older = new TreeMap<>(JobFingerprint.decode(c.jobFingerprint()).values());
        assertNotNull(older.remove(option), option + " is in the stored job");
        store.blob = c.withJobFingerprint(new JobFingerprint(older).encode()).encode();
    }

    @Test
    void aCheckpointWrittenBeforeAnOptionExistedResumesWhileTheOptionHasItsDefault() {
        TrainingConfig cfg = config().schedule(Schedule.RANDOM).build();
        assertEquals(1.0, cfg.priorLossWeight(), "the option is at its default");
        assertResumesToTheUninterruptedLora(cfg, store -> writtenBefore(store, "prior_loss_weight"), cfg);
    }

    /**
     * Runs {@code cfg} whole, and again cancelled after step 6; lets {@code alter} change the stored checkpoint and
     * resumes it as {@code resumedAs}: the remaining steps run and the LoRA is the uninterrupted run's.
     */
    private void assertResumesToTheUninterruptedLora(TrainingConfig cfg, Consumer<MemoryCheckpoints> alter,
                                                    TrainingConfig resumedAs) {
        Run whole = run(cfg, 5, CancellationToken.NEVER, new MemoryCheckpoints());
        MemoryCheckpoints store = new MemoryCheckpoints();
        runCounting(cfg, store, new AtomicInteger(), 6);
        alter.accept(store);
        Run resumed = run(resumedAs, 5, CancellationToken.NEVER, store);
        assertEquals(6, resumed.seen().size(), "resumed after step 6");
        for (int i = 0; i < whole.lora().size(); i++) {
            assertArrayEquals(whole.lora().get(i), resumed.lora().get(i), 0f, "tensor " + i);
        }
    }

    @Test
    void aCheckpointWrittenBeforeAnOptionExistedIsRefusedWhenTheOptionIsSetOtherwise() {
        TrainingConfig cfg = config().build();
        assertTrue(cfg.horizontalFlip(), "the option is not at its default (false)");
        MemoryCheckpoints store = new MemoryCheckpoints();
        runCounting(cfg, store, new AtomicInteger(), 2);
        writtenBefore(store, "horizontal_flip");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(cfg, 5, CancellationToken.NEVER, store));
        assertTrue(e.getMessage().contains("horizontal_flip: absent in the checkpoint, true now"), e.getMessage());
    }

    @Test
    void optionsThatDoNotShapeTheLoraMayChangeAcrossAResume() {
        TrainingConfig cfg = config().schedule(Schedule.RANDOM).build();
        TrainingConfig later = cfg.toBuilder().checkpointEvery(5).validationSteps(3).guidanceScale(2)
                .validationPrompts(List.of("a sks dog on a beach")).gradientCheckpointing(true).build();
        assertResumesToTheUninterruptedLora(cfg, store -> { }, later);
    }

    /**
     * {@code format1-toy-checkpoint.bin} was written by Selectune before format 2 (commit 22d17cc), by this class's
     * toy job with the RANDOM schedule, seed 5, cancelled after step 6: an upgrade resumes it where it stopped.
     */
    @Test
    void aCheckpointOfTheFirstFingerprintFormatResumesAfterTheUpgrade() throws IOException {
        MemoryCheckpoints store = new MemoryCheckpoints();
        store.blob = formatOneCheckpoint();
        assertTrue(JobFingerprint.isFormatOne(TrainingCheckpoint.decode(store.blob).jobFingerprint()));
        TrainingConfig cfg = config().schedule(Schedule.RANDOM).build();
        Run whole = run(cfg, 5, CancellationToken.NEVER, new MemoryCheckpoints());
        Run resumed = run(cfg, 5, CancellationToken.NEVER, store);
        assertEquals(6, resumed.seen().size(), "resumed after step 6");
        for (int i = 0; i < whole.lora().size(); i++) {
            assertArrayEquals(whole.lora().get(i), resumed.lora().get(i), 0f, "tensor " + i);
        }
    }

    @Test
    void aCheckpointOfTheFirstFingerprintFormatIsRefusedForAnotherJob() throws IOException {
        MemoryCheckpoints store = new MemoryCheckpoints();
        store.blob = formatOneCheckpoint();
        TrainingConfig other = config().schedule(Schedule.RANDOM).learningRate(5e-3).build();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> run(other, 5, CancellationToken.NEVER, store));
        assertTrue(e.getMessage().contains("format 1"), e.getMessage());
    }

    private static byte[] formatOneCheckpoint() throws IOException {
        try (var in = TrainingLoopTest.class.getResourceAsStream("/training/format1-toy-checkpoint.bin")) {
            assertNotNull(in, "test resource training/format1-toy-checkpoint.bin");
            return in.readAllBytes();
        }
    }

    @Test
    void bpLowStepsLowerTheTrainingLoss() {
        // The loss of one fixed example (image, t, noise) before and after 30 BP-low steps on the data.
        NDManager state = manager.newSubManager();
        ToyDenoiser model = new ToyDenoiser(state, 7);
        TrainingData data = toyData(state.newSubManager(), false);
        double before = fixedLoss(model, data);
        TrainingConfig cfg = config().schedule(Schedule.BP_LOW).steps(30).horizontalFlip(false).build();
        TrainingLoop.Outcome outcome = new TrainingLoop(model, model.parameters(), ToyDenoiser.scheduler(),
                data, cfg, 9, state, MemoryProbe.cpu()).run(StepListener.NONE, CancellationToken.NEVER,
                CheckpointStore.NONE);
        double after = fixedLoss(model, data);
        state.close();
        assertEquals(30, outcome.bpSteps());
        assertTrue(after < 0.9 * before, "loss " + before + " -> " + after);
    }

    /** Mean loss over every image at three timesteps with fixed noise, at the low resolution. */
    private static double fixedLoss(ToyDenoiser model, TrainingData data) {
        return Autograd.noGrad(() -> {
            double total = 0;
            try (NDManager m = data.manager().newSubManager()) {
                SplittableRandom random = new SplittableRandom(1);
                DDPMScheduler targets = ToyDenoiser.scheduler();
                for (TrainingData.Latents img : data.images()) {
                    for (int t : new int[] {100, 500, 900}) {
                        NDArray noise = ToyDenoiser.normal(m, random, 1f, 1, 4, 4, 4);
                        NDArray noisy = targets.addNoise(img.low(), noise, new long[] {t});
                        NDArray pred = model.predict(noisy, t, data.promptLow());
                        total += pred.sub(targets.target(img.low(), noise, new long[] {t})).square().mean().getFloat();
                    }
                }
            }
            return total;
        });
    }

    /** A checkpoint store in memory that remembers at which steps it was written. */
    static final class MemoryCheckpoints implements CheckpointStore {
        final List<Integer> savedSteps = new ArrayList<>();
        byte[] blob;

        @Override
        public void save(int step, byte[] checkpoint) {
            savedSteps.add(step);
            blob = checkpoint;
        }

        @Override
        public Optional<byte[]> load() {
            return Optional.ofNullable(blob);
        }
    }
}
