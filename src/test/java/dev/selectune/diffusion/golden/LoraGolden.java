package dev.selectune.diffusion.golden;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.unet.UNet2DConditionModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/**
 * The case's {@code pytorch_lora_weights.safetensors} on the UNet: {@code lora.out} (the UNet inputs of
 * {@link UnetGolden} with the LoRA at scale 1), {@code lora.loss} = {@code mean((lora.out - lora.target)^2)}, and
 * every {@code lora.grad.<PEFT key>} = d loss / d parameter with the base weights frozen.
 *
 * <p>The LoRA goes on a UNet of its own, so the plain {@code unet.*} checks never see it.
 */
public final class LoraGolden implements GoldenFamily {
    static final String LORA_FILE = "pytorch_lora_weights.safetensors";
    static final String GRAD = "lora.grad.";

    @Override
    public List<GoldenCheck> plan(GoldenCaseRun run) {
        List<GoldenCheck> checks = new ArrayList<>();
        List<String> inputs = new ArrayList<>(List.of("unet.sample"));
        inputs.addAll(UnetGolden.conditioningInputs(run));
        if (run.has("lora.out")) {
            checks.add(GoldenCheck.of("lora.out", inputs, () -> run.memo("lora:out",
                    () -> lora(run).model().forward(run.tensor("unet.sample"), run.tensor("unet.timestep"),
                            run.tensor("unet.encoder_hidden_states"), UnetGolden.addedConditions(run)))));
        }
        List<String> lossInputs = new ArrayList<>(inputs);
        lossInputs.add("lora.target");
        if (run.has("lora.loss")) {
            checks.add(GoldenCheck.of("lora.loss", lossInputs, () -> backward(run).get("loss")));
        }
        for (String entry : run.entryNames()) {
            if (entry.startsWith(GRAD)) {
                checks.add(GoldenCheck.of(entry, lossInputs, () -> {
                    NDArray g = backward(run).get(entry.substring(GRAD.length()));
                    if (g == null) {
                        throw new AssertionError("no LoRA parameter named '" + entry.substring(GRAD.length())
                                + "' received a gradient");
                    }
                    return g;
                }));
            }
        }
        return checks;
    }

    /** The case's LoRA attached to a UNet of its own (loaded once per case). */
    private static Attached lora(GoldenCaseRun run) {
        return run.memo("lora:attached", () -> {
            Owned<UNet2DConditionModel> unet = run.own(run.folder().loadUnet(Device.cpu(), DataType.FLOAT32));
            Path file = run.dir().resolve(LORA_FILE);
            LoraNetwork network = run.own(LoraNetwork.load(file, unet.model(), unet.manager()));
            return new Attached(unet.model(), network);
        });
    }

    /** One backward of the MSE loss: the loss under "loss", each gradient under its PEFT key. */
    private static Map<String, NDArray> backward(GoldenCaseRun run) {
        return run.memo("lora:backward", () -> {
            Attached attached = lora(run);
            attached.network().parameters().setTrainable(true);
            NDArray target = run.tensor("lora.target");
            NDArray loss = attached.model().lossAndBackward(run.tensor("unet.sample"), run.tensor("unet.timestep"),
                    run.tensor("unet.encoder_hidden_states"), UnetGolden.addedConditions(run),
                    out -> out.sub(target).square().mean(), false);
            Map<String, NDArray> out = new HashMap<>();
            out.put("loss", keep(run, loss.reshape(1)));
            List<String> names = attached.network().parameters().names();
            List<NDArray> grads = attached.network().parameters().gradients();
            for (int i = 0; i < names.size(); i++) {
                if (grads.get(i) != null) {
                    out.put("unet." + names.get(i), keep(run, grads.get(i)));
                }
            }
            attached.network().parameters().setTrainable(false);
            return out;
        });
    }

    private static NDArray keep(GoldenCaseRun run, NDArray a) {
        NDArray copy = a.duplicate();
        copy.attach(run.manager());
        return copy;
    }

    private record Attached(UNet2DConditionModel model, LoraNetwork network) {
    }
}
