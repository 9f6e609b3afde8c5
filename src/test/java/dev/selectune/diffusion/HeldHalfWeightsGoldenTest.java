package dev.selectune.diffusion;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import com.google.gson.JsonObject;
import dev.selectune.diffusion.golden.GoldenCaseRun;
import dev.selectune.diffusion.golden.UnetGolden;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.pipeline.Generation;
import dev.selectune.diffusion.pipeline.GenerationRequest;
import dev.selectune.diffusion.pipeline.Owned;
import dev.selectune.diffusion.pipeline.StableDiffusionPipeline;
import dev.selectune.diffusion.unet.AddedConditions;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * The golden UNet, LoRA and pipeline entries with the frozen weights held in FLOAT16 and computed in FLOAT32
 * ({@code weights_dtype=fp16} on the CPU), with a looser tolerance for this mode only: the outputs against the same
 * fp32 references as {@link GoldenReferenceTest}, within {@value #TOLERANCE} x max(1, max|ref|); every LoRA
 * gradient the case names against the same backward with fp32-held weights, within {@value #GRAD_TOLERANCE} x
 * max|ref| (which also shows the gradients reach the fp32 LoRA masters through the cast frozen weights).
 * Rounding every weight to 11 significant bits costs about 1e-3 relative; the strict fp32 checks stay in
 * {@link GoldenReferenceTest}. Each check prints its error, which docs/training.md reports.
 */
class HeldHalfWeightsGoldenTest {
    static final double TOLERANCE = 5e-3;
    static final double GRAD_TOLERANCE = 1e-2;
    private static final Precision HALF_HELD = new Precision(DataType.FLOAT32, DataType.FLOAT16);

    @TestFactory
    Stream<DynamicNode> goldenCasesWithHalfHeldWeights() {
        List<Path> cases = GoldenReferenceTest.caseFolders();
        if (cases.isEmpty()) {
            return Stream.of(DynamicTest.dynamicTest("no golden cases", () -> fail("no golden case folder found")));
        }
        return cases.stream().map(dir -> DynamicTest.dynamicTest(dir.getFileName() + "/fp16-held", () -> check(dir)));
    }

    private static void check(Path dir) {
        try (GoldenCaseRun run = GoldenCaseRun.open(dir)) {
            Map<String, NDArray> actual = new LinkedHashMap<>();
            Map<String, NDArray> fp32Gradients = new LinkedHashMap<>();
            Autograd.noGrad(() -> {
                unetAndLora(run, HALF_HELD, actual);
                unetAndLora(run, Precision.of(DataType.FLOAT32), fp32Gradients);
                pipeline(run, actual);
                return null;
            });
            List<String> failures = new ArrayList<>();
            double worstOutput = 0;
            double worstGrad = 0;
            for (Map.Entry<String, NDArray> e : actual.entrySet()) {
                String entry = e.getKey();
                boolean grad = entry.startsWith("lora.grad.");
                NDArray ref = grad ? fp32Gradients.get(entry) : run.tensor(entry);
                assertEquals(ref.getShape(), e.getValue().getShape(), entry + ": shape");
                float[] r = ref.toFloatArray();
                float[] a = e.getValue().toType(DataType.FLOAT32, false).toFloatArray();
                double maxRef = 0;
                double maxDiff = 0;
                for (int i = 0; i < r.length; i++) {
                    maxRef = Math.max(maxRef, Math.abs(r[i]));
                    maxDiff = Math.max(maxDiff, Math.abs((double) a[i] - r[i]));
                }
                double tolerance = grad ? GRAD_TOLERANCE * maxRef : TOLERANCE * Math.max(1, maxRef);
                double relative = maxDiff / (grad ? maxRef : Math.max(1, maxRef));
                if (grad) {
                    worstGrad = Math.max(worstGrad, relative);
                } else {
                    worstOutput = Math.max(worstOutput, relative);
                    System.out.printf("%s/%s fp16-held: max abs error %.3g (max|ref| %.3g)%n", run.name(), entry,
                            maxDiff, maxRef);
                }
                if (!(maxDiff <= tolerance)) {
                    failures.add(String.format("%s: max|java - ref| = %.3g > %.3g", entry, maxDiff, tolerance));
                }
            }
            System.out.printf("%s fp16-held: worst output error %.3g x max(1, max|ref|), worst of %d LoRA gradients "
                    + "%.3g x max|ref|%n", run.name(), worstOutput, actual.keySet().stream()
                    .filter(k -> k.startsWith("lora.grad.")).count(), worstGrad);
            assertTrue(actual.containsKey("unet.out") && actual.containsKey("pipe.latents_out"),
                    run.name() + ": the case lacks unet.out or pipe.latents_out");
            assertTrue(failures.isEmpty(), run.name() + " with fp16-held weights: " + failures.size()
                    + " entries out of tolerance, e.g. " + failures.subList(0, Math.min(3, failures.size())));
        }
    }

    /** The UNet and LoRA outputs and, when the case has a LoRA, its gradients (by golden entry name). */
    private static void unetAndLora(GoldenCaseRun run, Precision precision, Map<String, NDArray> actual) {
        try (Owned<UNet2DConditionModel> owned = run.folder().loadUnet(Device.cpu(), precision)) {
            UNet2DConditionModel unet = owned.model();
            NDArray t = run.tensor("unet.timestep");
            NDArray context = run.tensor("unet.encoder_hidden_states");
            AddedConditions added = UnetGolden.addedConditions(run);
            actual.put("unet.out", keep(unet.forward(run.tensor("unet.sample"), t, context, added), run));
            if (run.has("unet.out_16x24")) {
                actual.put("unet.out_16x24", keep(unet.forward(run.tensor("unet.sample_16x24"), t, context, added), run));
            }
            Path file = run.dir().resolve("pytorch_lora_weights.safetensors");
            if (!run.has("lora.out")) {
                return;
            }
            try (LoraNetwork lora = LoraNetwork.load(file, unet, owned.manager())) {
                actual.put("lora.out", keep(unet.forward(run.tensor("unet.sample"), t, context, added), run));
                lora.parameters().setTrainable(true);
                NDArray target = run.tensor("lora.target");
                unet.lossAndBackward(run.tensor("unet.sample"), t, context, added,
                        out -> out.sub(target).square().mean(), false);
                List<String> names = lora.parameters().names();
                List<NDArray> grads = lora.parameters().gradients();
                for (int i = 0; i < names.size(); i++) {
                    String entry = "lora.grad.unet." + names.get(i);
                    if (run.has(entry)) {
                        if (grads.get(i) == null) {
                            fail(entry + ": no gradient reached the LoRA master with fp16-held base weights");
                        }
                        actual.put(entry, keep(grads.get(i), run));
                    }
                }
                lora.parameters().setTrainable(false);
            }
        }
    }

    private static void pipeline(GoldenCaseRun run, Map<String, NDArray> actual) {
        JsonObject c = run.json().getAsJsonObject("pipeline_call");
        String negative = c.has("negative_prompt") && !c.get("negative_prompt").isJsonNull()
                ? c.get("negative_prompt").getAsString() : "";
        GenerationRequest request = new GenerationRequest(c.get("prompt").getAsString(), negative,
                c.get("width").getAsInt(), c.get("height").getAsInt(), c.get("num_inference_steps").getAsInt(),
                c.get("guidance_scale").getAsFloat(), 0L, null, 1f);
        try (StableDiffusionPipeline pipeline = StableDiffusionPipeline.load(run.dir(), Device.cpu(), HALF_HELD)) {
            if (run.has("pipe.prompt_embeds")) {
                actual.put("pipe.prompt_embeds", keep(pipeline.encodePrompt(request.prompt(), request.negativePrompt(),
                        run.manager()).promptEmbeds(), run));
            }
            Generation g = pipeline.generate(request, run.tensor("pipe.latents_in"), run.manager());
            actual.put("pipe.latents_out", keep(g.latents(), run));
            if (run.has("pipe.image")) {
                actual.put("pipe.image", keep(g.image(), run));
            }
        }
    }

    private static NDArray keep(NDArray a, GoldenCaseRun run) {
        NDArray copy = a.duplicate();
        copy.attach(run.manager());
        return copy;
    }
}
