package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.lora.LoraAdapter;
import dev.selectune.diffusion.lora.LoraParameters;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.schedulers.DDPMScheduler;
import dev.selectune.diffusion.schedulers.SchedulerConfig;
import dev.selectune.training.data.Conditioning;

import java.util.List;
import java.util.SplittableRandom;
import java.util.function.Function;

/**
 * A two-layer per-pixel MLP over the latent channels with LoRA on both layers and the prompt as a bias: small
 * enough for unit tests of the loop and the optimizers, built from the real {@link Linear} and
 * {@link LoraAdapter} so gradients flow exactly as in the UNet.
 */
final class ToyDenoiser implements Denoiser {
    static final int CHANNELS = 4;
    static final int HIDDEN = 16;
    private final Linear first;
    private final Linear second;
    private final LoraAdapter firstLora;
    private final LoraAdapter secondLora;

    ToyDenoiser(NDManager manager, long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        first = new Linear("toy.first", normal(manager, random, 0.5f, HIDDEN, CHANNELS), null);
        second = new Linear("toy.second", normal(manager, random, 0.25f, CHANNELS, HIDDEN), null);
        // B starts non-zero here (unlike PEFT's init) so that A receives gradients from the first step.
        firstLora = new LoraAdapter("toy.first", 2, 2f, normal(manager, random, 0.3f, 2, CHANNELS),
                normal(manager, random, 0.1f, HIDDEN, 2), DataType.FLOAT32);
        secondLora = new LoraAdapter("toy.second", 2, 2f, normal(manager, random, 0.3f, 2, HIDDEN),
                normal(manager, random, 0.1f, CHANNELS, 2), DataType.FLOAT32);
        first.setAdapter(firstLora);
        second.setAdapter(secondLora);
    }

    LoraParameters parameters() {
        return new LoraParameters(List.of(firstLora, secondLora));
    }

    @Override
    public NDArray predict(NDArray noisyLatents, int timestep, Conditioning cond) {
        Shape shape = noisyLatents.getShape();
        NDArray tokens = noisyLatents.reshape(shape.get(0), CHANNELS, -1).transpose(0, 2, 1);
        NDArray h = first.forward(tokens).tanh().mul((float) (1 + timestep / 1000.0));
        NDArray out = second.forward(h).add(cond.hiddenStates());
        return out.transpose(0, 2, 1).reshape(shape);
    }

    @Override
    public NDArray lossAndBackward(NDArray noisyLatents, int timestep, Conditioning cond,
                                   Function<NDArray, NDArray> lossOfOutput, boolean checkpointed) {
        return Autograd.withGrad(() -> {
            NDArray loss = lossOfOutput.apply(predict(noisyLatents, timestep, cond));
            Autograd.backward(loss);
            return loss;
        });
    }

    static NDArray normal(NDManager manager, SplittableRandom random, float std, long... shape) {
        int n = Math.toIntExact(new Shape(shape).size());
        float[] v = new float[n];
        for (int i = 0; i < n; i++) {
            v[i] = (float) random.nextGaussian() * std;
        }
        return manager.create(v, new Shape(shape));
    }

    /** SD's training noise schedule (scaled_linear 0.00085..0.012, 1000 steps), epsilon prediction. */
    static DDPMScheduler scheduler() {
        return new DDPMScheduler(SchedulerConfig.fromJson(JsonParser.parseString("{\"_class_name\": \"DDPMScheduler\","
                + " \"beta_start\": 0.00085, \"beta_end\": 0.012, \"beta_schedule\": \"scaled_linear\"}")
                .getAsJsonObject()));
    }
}
