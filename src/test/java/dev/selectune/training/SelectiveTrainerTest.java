package dev.selectune.training;

import ai.djl.Device;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.training.schedule.Schedule;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.io.InputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/**
 * The whole trainer on the tiny pipelines with real (downsized) DreamBooth images: files, metrics, determinism,
 * resume after cancellation, prior preservation, bad input. 64 px high, 32 px low (latents 32x32 and 16x16), a
 * handful of steps per run.
 */
class SelectiveTrainerTest {
    private static List<byte[]> images;

    @TempDir
    Path tmp;

    @BeforeAll
    static void readImages() throws IOException {
        images = new ArrayList<>();
        for (String n : new String[] {"00.jpg", "01.jpg", "02.jpg"}) {
            try (InputStream in = SelectiveTrainerTest.class.getResourceAsStream("/images/dog/" + n)) {
                images.add(in.readAllBytes());
            }
        }
    }

    private static SelectiveTrainer trainer(String model) {
        return new SelectiveTrainer(GoldenCase.resource(model), Device.cpu());
    }

    private static TrainingConfig.Builder config() {
        return TrainingConfig.builder("a photo of sks dog").steps(6).seed(1234L).schedule(Schedule.RANDOM)
                .zoPerturbations(1).learningRate(1e-3).zoLearningRate(1e-3).checkpointEvery(0).horizontalFlip(true);
    }

    @Test
    void trainsAndWritesLoraMetricsAndSamples() throws IOException {
        Path out = tmp.resolve("run");
        List<StepReport> seen = new ArrayList<>();
        TrainingResult r = trainer("tiny-sd15").run(images,
                config().validationPrompts(List.of("a sks dog on the beach")).validationSteps(2).build(), out,
                seen::add, CancellationToken.NEVER, CheckpointStore.NONE);
        assertEquals(6, r.stepsDone());
        assertEquals(6, seen.size());
        assertFalse(r.cancelled());
        assertEquals(1234L, r.seed());
        assertEquals(6, r.bpSteps() + r.zoSteps());
        assertTrue(r.bpSteps() > 0 && r.zoSteps() > 0, "random schedule ran both strategies");
        assertTrue(r.memory().bpPeakBytes() > 0 && r.memory().zoPeakBytes() > 0, r.memory().toString());
        assertEquals(Math.max(r.memory().bpPeakBytes(), r.memory().zoPeakBytes()), r.memory().peakBytes());

        try (SafeTensorsFile peft = SafeTensorsFile.open(r.loraDiffusers());
             SafeTensorsFile kohya = SafeTensorsFile.open(r.loraKohya())) {
            assertEquals(96, peft.tensors().size(), "A and B of 48 attention projections");
            assertTrue(peft.contains("unet.down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q.lora_A.weight"));
            assertTrue(kohya.contains("lora_unet_mid_block_attentions_0_transformer_blocks_0_attn2_to_k.alpha"));
            assertEquals("4", peft.metadata().get("lora_rank"));
        }
        JsonObject metrics = JsonParser.parseString(Files.readString(r.metrics())).getAsJsonObject();
        assertEquals(6, metrics.getAsJsonArray("steps").size());
        JsonObject step = metrics.getAsJsonArray("steps").get(0).getAsJsonObject();
        for (String field : new String[] {"step", "strategy", "timestep", "p_zo", "loss", "seconds", "peak_bytes"}) {
            assertTrue(step.has(field), "metrics step field " + field);
        }
        assertEquals(1234L, metrics.get("seed").getAsLong());
        assertEquals("random", metrics.getAsJsonObject("config").get("schedule").getAsString());
        assertTrue(metrics.getAsJsonObject("memory").get("measured_as").getAsString().contains("resident"));
        assertEquals(List.of(out.resolve("sample-0.png")), r.samples());
        assertTrue(Files.size(r.samples().get(0)) > 100);
    }

    @Test
    void sameSeedGivesBitwiseIdenticalLoraAndResumeEqualsUninterrupted() throws IOException {
        TrainingConfig cfg = config().steps(4).checkpointEvery(2).build();
        TrainingResult a = trainer("tiny-sd15").run(images, cfg, tmp.resolve("a"), StepListener.NONE,
                CancellationToken.NEVER, CheckpointStore.NONE);
        TrainingResult b = trainer("tiny-sd15").run(images, cfg, tmp.resolve("b"), StepListener.NONE,
                CancellationToken.NEVER, CheckpointStore.NONE);
        assertLoraEquals(a.loraDiffusers(), b.loraDiffusers());

        FileCheckpointStore store = new FileCheckpointStore(tmp.resolve("job.ckpt"));
        AtomicInteger steps = new AtomicInteger();
        TrainingResult first = trainer("tiny-sd15").run(images, cfg, tmp.resolve("c"), s -> steps.incrementAndGet(),
                () -> steps.get() >= 3, store);
        assertTrue(first.cancelled());
        assertEquals(3, first.stepsDone(), "cancelled after the step that saw the token flip");
        assertTrue(first.samples().isEmpty());
        TrainingResult resumed = trainer("tiny-sd15").run(images, cfg, tmp.resolve("c"), s -> steps.incrementAndGet(),
                CancellationToken.NEVER, store);
        assertFalse(resumed.cancelled());
        assertEquals(4, steps.get(), "the resumed run did only the remaining step");
        assertLoraEquals(a.loraDiffusers(), resumed.loraDiffusers());
    }

    private static void assertLoraEquals(Path expected, Path actual) {
        try (SafeTensorsFile e = SafeTensorsFile.open(expected); SafeTensorsFile a = SafeTensorsFile.open(actual)) {
            assertEquals(e.tensors().keySet(), a.tensors().keySet());
            for (String key : e.tensors().keySet()) {
                assertArrayEquals(bytes(e.bytes(key)), bytes(a.bytes(key)), key);
            }
        }
    }

    private static byte[] bytes(ByteBuffer b) {
        byte[] out = new byte[b.remaining()];
        b.get(out);
        return out;
    }

    @Test
    void vPredictionModelTrains() {
        TrainingResult r = trainer("tiny-sd21v").run(images.subList(0, 1),
                config().steps(3).schedule(Schedule.BP_LOW).build(), tmp.resolve("v"), StepListener.NONE,
                CancellationToken.NEVER, CheckpointStore.NONE);
        assertEquals(3, r.bpSteps());
        assertTrue(Double.isFinite(r.finalLoss()));
    }

    /** With prior preservation every step adds prior_loss_weight * MSE on a generated class image. */
    @Test
    void priorPreservationAddsTheClassTerm() {
        TrainingConfig.Builder prior = config().steps(1).schedule(Schedule.BP_LOW).classPrompt("a photo of a dog")
                .numClassImages(1).validationSteps(2);
        List<StepReport> withPrior = new ArrayList<>();
        List<StepReport> weightZero = new ArrayList<>();
        trainer("tiny-sd15").run(images, prior.build(), tmp.resolve("p1"), withPrior::add, CancellationToken.NEVER,
                CheckpointStore.NONE);
        trainer("tiny-sd15").run(images, prior.priorLossWeight(0).build(), tmp.resolve("p0"), weightZero::add,
                CancellationToken.NEVER, CheckpointStore.NONE);
        assertEquals(withPrior.get(0).timestep(), weightZero.get(0).timestep(), "same draws");
        double classTerm = withPrior.get(0).loss() - weightZero.get(0).loss();
        assertTrue(classTerm > 0.05, "class-image MSE added: " + classTerm);
    }

    @Test
    void badInputFailsBeforeAnyStep() {
        AtomicInteger steps = new AtomicInteger();
        StepListener count = s -> steps.incrementAndGet();
        SelectiveTrainer t = trainer("tiny-sd15");
        Path out = tmp.resolve("bad");
        IllegalArgumentException small = assertThrows(IllegalArgumentException.class, () -> t.run(images,
                config().resolution(512).build(), out, count, CancellationToken.NEVER, CheckpointStore.NONE));
        assertTrue(small.getMessage().contains("images[0]") && small.getMessage().contains("smaller"), small.getMessage());
        IllegalArgumentException unreadable = assertThrows(IllegalArgumentException.class, () -> t.run(
                List.of(images.get(0), new byte[] {1, 2, 3}), config().build(), out, count, CancellationToken.NEVER,
                CheckpointStore.NONE));
        assertTrue(unreadable.getMessage().startsWith("images[1]"), unreadable.getMessage());
        IllegalArgumentException cfg = assertThrows(IllegalArgumentException.class, () -> t.run(images,
                config().resizeRatio(1.5).zoPerturbations(0).zoEpsilon(0).steps(0).build(), out, count,
                CancellationToken.NEVER, CheckpointStore.NONE));
        for (String field : new String[] {"resize_ratio", "zo_perturbations", "zo_epsilon", "steps"}) {
            assertTrue(cfg.getMessage().contains(field), cfg.getMessage());
        }
        assertThrows(IllegalArgumentException.class, () -> t.run(List.of(), config().build(), out, count,
                CancellationToken.NEVER, CheckpointStore.NONE));
        assertEquals(0, steps.get());
    }
}
