package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.lora.LoraAdapter;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.training.optim.MeZO;
import dev.selectune.training.schedule.Schedule;
import dev.selectune.util.StepRandom;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The two strategies on the tiny SD 1.5 UNet with a LoRA attached. */
class UNetStrategiesTest {

    private static NDArray randn(NDManager m, SplittableRandom r, float std, long... shape) {
        Shape s = new Shape(shape);
        float[] v = StepRandom.gaussians(r, Math.toIntExact(s.size()));
        for (int i = 0; i < v.length; i++) {
            v[i] *= std;
        }
        return m.create(v, s);
    }

    /**
     * With a small epsilon MeZO's projected gradient (L+ - L-) / (2 eps) agrees in sign and scale with the
     * directional derivative grad(L) . z that backprop gives.
     */
    @Test
    void projectedGradientMatchesBackpropOnTheUNet() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenCase.resource("tiny-sd15").resolve("unet"), m,
                    DataType.FLOAT32);
            SplittableRandom r = new SplittableRandom(17);
            LoraNetwork lora = LoraNetwork.create(unet, 4, 4f, 3, m);
            // B starts at zero (PEFT init), which would leave A without gradient; give it values so both matter.
            Autograd.noGrad(() -> {
                for (LoraAdapter a : lora.adapters().values()) {
                    a.up().set(StepRandom.gaussians(r, Math.toIntExact(a.up().size())));
                    a.up().muli(0.05f);
                }
            });
            LoraParameters params = lora.parameters();
            UNetDenoiser denoiser = new UNetDenoiser(unet);
            NDArray x = randn(m, r, 1f, 1, 4, 16, 16);
            NDArray target = randn(m, r, 1f, 1, 4, 16, 16);
            Conditioning cond = Conditioning.of(randn(m, r, 1f, 1, 77, 32));
            int t = 400;

            params.setTrainable(true);
            denoiser.lossAndBackward(x, t, cond, pred -> pred.sub(target).square().mean(), false);
            List<float[]> grads = params.gradients().stream().map(NDArray::toFloatArray).toList();
            params.zeroGradients();

            for (long seed : new long[] {101, 102, 103}) {
                // z(seed) as MeZO draws it: the perturbation of zeros with scale 1.
                List<NDArray> zeros = params.masters().stream().map(p -> m.zeros(p.getShape(), DataType.FLOAT32)).toList();
                MeZO.perturb(zeros, seed, 1, () -> { });
                List<float[]> z = zeros.stream().map(NDArray::toFloatArray).toList();
                double directional = 0;
                for (int i = 0; i < z.size(); i++) {
                    for (int j = 0; j < z.get(i).length; j++) {
                        directional += (double) grads.get(i)[j] * z.get(i)[j];
                    }
                }
                MeZO.Result res = new MeZO(1e-3, 1e-12, 1).step(params.masters(), () -> seed,
                        () -> Autograd.noGrad(() -> denoiser.predict(x, t, cond).sub(target).square().mean().getFloat()),
                        params::syncWorkingCopies);
                double estimate = res.projectedGradients()[0];
                assertEquals(Math.signum(directional), Math.signum(estimate), "sign, seed " + seed);
                assertEquals(directional, estimate, 0.05 * Math.abs(directional) + 1e-4,
                        "scale, seed " + seed + ": backprop " + directional + ", MeZO " + estimate);
            }
        }
    }

    /** Fifteen BP-low steps (AdamW, lr 1e-2) lower the loss of fixed examples at the low resolution. */
    @Test
    void bpLowStepsLowerTheTrainingLoss() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenCase.resource("tiny-sd15").resolve("unet"), m,
                    DataType.FLOAT32);
            LoraNetwork lora = LoraNetwork.create(unet, 4, 4f, 3, m);
            LoraParameters params = lora.parameters();
            UNetDenoiser denoiser = new UNetDenoiser(unet);
            SplittableRandom r = new SplittableRandom(23);
            NDManager dataManager = m.newSubManager();
            List<TrainingData.Latents> images = new ArrayList<>();
            for (int i = 0; i < 2; i++) {
                images.add(new TrainingData.Latents(randn(dataManager, r, 1f, 1, 4, 16, 16),
                        randn(dataManager, r, 1f, 1, 4, 8, 8), null, null));
            }
            Conditioning prompt = Conditioning.of(randn(dataManager, r, 1f, 1, 77, 32));
            TrainingData data = new TrainingData(dataManager, images, prompt, prompt, List.of(), null, null);
            DDPMScheduler scheduler = ToyDenoiser.scheduler();

            double before = fixedLoss(denoiser, data, scheduler, m);
            TrainingConfig cfg = TrainingConfig.builder("p").schedule(Schedule.BP_LOW).steps(15).learningRate(1e-2)
                    .checkpointEvery(0).build();
            TrainingLoop.Outcome o = Autograd.noGrad(() -> new TrainingLoop(denoiser, params, scheduler, data, cfg, 5, m,
                    MemoryProbe.cpu()).run(StepListener.NONE, CancellationToken.NEVER, CheckpointStore.NONE));
            double after = fixedLoss(denoiser, data, scheduler, m);
            assertEquals(15, o.bpSteps());
            assertTrue(after < 0.97 * before, "loss " + before + " -> " + after);
        }
    }

    private static double fixedLoss(UNetDenoiser denoiser, TrainingData data, DDPMScheduler scheduler, NDManager m) {
        return Autograd.noGrad(() -> {
            double total = 0;
            try (NDManager scratch = m.newSubManager()) {
                SplittableRandom r = new SplittableRandom(99);
                for (TrainingData.Latents img : data.images()) {
                    for (int t : new int[] {50, 300, 600, 900}) {
                        NDArray noise = randn(scratch, r, 1f, 1, 4, 8, 8);
                        NDArray noisy = scheduler.addNoise(img.low(), noise, new long[] {t});
                        total += denoiser.predict(noisy, t, data.promptLow()).sub(noise).square().mean().getFloat();
                    }
                }
            }
            return total;
        });
    }
}
