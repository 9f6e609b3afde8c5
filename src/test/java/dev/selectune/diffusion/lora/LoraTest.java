package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenTensors;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraTest {

    @ParameterizedTest(name = "{0} checkpointed={1}")
    @CsvSource({"tiny-sd15, false", "tiny-sd15, true", "tiny-sd21v, false", "tiny-sd21v, true"})
    void outputAndGradientsMatchDiffusers(String caseName, boolean checkpointed) {
        try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors(caseName, m)) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m, DataType.FLOAT32);
            try (LoraNetwork lora = LoraNetwork.load(golden.caseDir().resolve("pytorch_lora_weights.safetensors"), unet, m)) {
                assertEquals(48, lora.adapters().size());
                NDArray sample = golden.get("unet.sample");
                NDArray t = golden.get("unet.timestep");
                NDArray ctx = golden.get("unet.encoder_hidden_states");
                NDArray out = Autograd.noGrad(() -> unet.forward(sample, t, ctx, null));
                GoldenTensors.assertComponentClose("lora.out", golden.get("lora.out"), out);

                lora.setTrainable(true);
                NDArray target = golden.get("lora.target");
                NDArray loss = unet.lossAndBackward(sample, t, ctx, null,
                        o -> o.sub(target).square().mean(), checkpointed);
                GoldenTensors.assertComponentClose("lora.loss", golden.get("lora.loss"), loss.reshape(1));
                List<String> names = lora.parameterNames();
                List<NDArray> grads = lora.gradients();
                for (int i = 0; i < names.size(); i++) {
                    GoldenTensors.assertClose("lora.grad." + names.get(i), golden.get("lora.grad." + names.get(i)),
                            grads.get(i), 1e-3, 0);
                }
            }
        }
    }

    @ParameterizedTest
    @EnumSource(LoraFormat.class)
    void savedInEachNamingAndLoadedBackGivesTheSameOutput(LoraFormat format, @TempDir Path dir) {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd15", m)) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m,
                        DataType.FLOAT32);
                NDArray sample = golden.get("unet.sample");
                NDArray t = golden.get("unet.timestep");
                NDArray ctx = golden.get("unet.encoder_hidden_states");
                NDArray base = unet.forward(sample, t, ctx, null);
                Path file = dir.resolve("lora-" + format + ".safetensors");
                float[] original;
                try (LoraNetwork lora = LoraNetwork.create(unet, 4, 8, 42, m)) {
                    // B starts at zero: the output is the base model's until training moves it.
                    assertArrayEquals(base.toFloatArray(), unet.forward(sample, t, ctx, null).toFloatArray());
                    for (NDArray up : lora.parameters().subList(0, lora.parameters().size())) {
                        if (up.getShape().get(1) == 4 && up.getShape().get(0) != 4) {
                            up.addi(0.05f);
                        }
                    }
                    lora.parameters().stream().filter(p -> p.getShape().get(1) == 4).forEach(p -> p.addi(0.02f));
                    original = unet.forward(sample, t, ctx, null).toFloatArray();
                    lora.save(file, format);
                }
                assertArrayEquals(base.toFloatArray(), unet.forward(sample, t, ctx, null).toFloatArray(),
                        "closing the network detaches it");
                try (LoraNetwork reloaded = LoraNetwork.load(file, unet, m)) {
                    assertEquals(8f, reloaded.adapters().values().iterator().next().alpha());
                    float[] again = unet.forward(sample, t, ctx, null).toFloatArray();
                    assertArrayEquals(original, again);
                    assertNotEquals(base.toFloatArray()[0], again[0]);
                    reloaded.setScale(0f);
                    assertArrayEquals(base.toFloatArray(), unet.forward(sample, t, ctx, null).toFloatArray(), 1e-6f);
                }
            }
        });
    }

    @Test
    void initialisationIsSeededAndPeftLike() {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenTensors.ROOT.resolve("tiny-sd15/unet"), m,
                    DataType.FLOAT32);
            float[] first;
            try (LoraNetwork a = LoraNetwork.create(unet, 4, 4, 7, m)) {
                first = a.parameters().get(0).toFloatArray();
                float bound = (float) (1 / Math.sqrt(32));
                for (float v : first) {
                    assertTrue(Math.abs(v) <= bound);
                }
                assertEquals(0f, a.parameters().get(1).abs().max().getFloat());
                assertEquals(96, a.parameters().size());
            }
            try (LoraNetwork b = LoraNetwork.create(unet, 4, 4, 7, m)) {
                assertArrayEquals(first, b.parameters().get(0).toFloatArray());
            }
        }
    }

    @Test
    void misshapenOrForeignKeysFailNamingFileAndKey(@TempDir Path dir) {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenTensors.ROOT.resolve("tiny-sd15/unet"), m,
                    DataType.FLOAT32);
            String path = "down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k";
            Path wrong = dir.resolve("wrong.safetensors");
            new SafeTensorsWriter()
                    .put("unet." + path + ".lora_A.weight", m.zeros(new Shape(4, 48)))
                    .put("unet." + path + ".lora_B.weight", m.zeros(new Shape(32, 4)))
                    .write(wrong);
            LoraException e = assertThrows(LoraException.class, () -> LoraNetwork.load(wrong, unet, m));
            assertTrue(e.getMessage().contains("wrong.safetensors") && e.getMessage().contains(path + ".lora_A.weight"),
                    e.getMessage());

            Path half = dir.resolve("half.safetensors");
            new SafeTensorsWriter().put("lora_unet_" + path.replace('.', '_') + ".lora_down.weight",
                    m.zeros(new Shape(4, 32))).write(half);
            e = assertThrows(LoraException.class, () -> LoraNetwork.load(half, unet, m));
            assertTrue(e.getMessage().contains("lora_down.weight") && e.getMessage().contains("up (B)"), e.getMessage());

            Path foreign = dir.resolve("te.safetensors");
            new SafeTensorsWriter().put("lora_te_text_model_encoder_layers_0_self_attn_q_proj.lora_down.weight",
                    m.zeros(new Shape(4, 32))).write(foreign);
            e = assertThrows(LoraException.class, () -> LoraNetwork.load(foreign, unet, m));
            assertTrue(e.getMessage().contains("lora_te_text_model"), e.getMessage());
        }
    }
}
