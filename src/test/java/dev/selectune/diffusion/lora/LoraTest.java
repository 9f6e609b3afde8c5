package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.GoldenTensors;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.EnumSource;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraTest {
    /** One answer for a parameter without a gradient, wherever the parameters come from: null, never zeros. */
    @Test
    void aParameterThatRecordsNoGradientHasNone() {
        try (NDManager m = NDManager.newBaseManager("PyTorch")) {
            LoraAdapter adapter = new LoraAdapter("toy", 2, 2f, m.ones(new Shape(2, 3)), m.zeros(new Shape(4, 2)),
                    DataType.FLOAT32);
            LoraParameters parameters = new LoraParameters(List.of(adapter));
            parameters.setTrainable(false);
            assertEquals(java.util.Arrays.asList(null, null), parameters.gradients());
            assertEquals(List.of("toy.lora_A.weight", "toy.lora_B.weight"), parameters.names());
        }
    }


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

                lora.parameters().setTrainable(true);
                NDArray target = golden.get("lora.target");
                NDArray loss = unet.lossAndBackward(sample, t, ctx, null,
                        o -> o.sub(target).square().mean(), checkpointed);
                GoldenTensors.assertComponentClose("lora.loss", golden.get("lora.loss"), loss.reshape(1));
                List<String> names = lora.parameters().names();
                List<NDArray> grads = lora.parameters().gradients();
                for (int i = 0; i < names.size(); i++) {
                    GoldenTensors.assertClose("lora.grad.unet." + names.get(i), golden.get("lora.grad.unet." + names.get(i)),
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
                    for (NDArray up : lora.parameters().masters()) {
                        if (up.getShape().get(1) == 4 && up.getShape().get(0) != 4) {
                            up.addi(0.05f);
                        }
                    }
                    lora.parameters().masters().stream().filter(p -> p.getShape().get(1) == 4).forEach(p -> p.addi(0.02f));
                    original = unet.forward(sample, t, ctx, null).toFloatArray();
                    lora.save(file, format);
                }
                assertArrayEquals(base.toFloatArray(), unet.forward(sample, t, ctx, null).toFloatArray(),
                        "closing the network detaches it");
                try (LoraNetwork reloaded = LoraNetwork.load(file, unet, m)) {
                    // The diffusers namings carry alpha / r = 2 in B and record alpha = r.
                    assertEquals(format == LoraFormat.KOHYA ? 8f : 4f,
                            reloaded.adapters().values().iterator().next().alpha());
                    float[] again = unet.forward(sample, t, ctx, null).toFloatArray();
                    assertArrayEquals(original, again);
                    assertNotEquals(base.toFloatArray()[0], again[0]);
                    reloaded.setScale(0f);
                    assertArrayEquals(base.toFloatArray(), unet.forward(sample, t, ctx, null).toFloatArray(), 1e-6f);
                }
            }
        });
    }

    /**
     * diffusers applies no alpha from our own metadata (0.27 reads no metadata, later versions only their
     * lora_adapter_metadata): the diffusers namings carry B * alpha / r and record alpha = r, kohya keeps B and
     * alpha. Every file, and an old one that kept alpha = 6 only in its metadata, merges back to W + alpha / r * B A.
     */
    @Test
    void diffusersFilesCarryAlphaInLoraBAndEveryFileMergesLikeTheHandMerge(@TempDir Path dir) {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenTensors.ROOT.resolve("tiny-sd15/unet"), m,
                        DataType.FLOAT32);
                Map<String, NDArray> handMerge = new LinkedHashMap<>();
                Map<String, float[]> trainedB = new LinkedHashMap<>();
                Path old = dir.resolve("old.safetensors");
                try (LoraNetwork lora = LoraNetwork.create(unet, 4, 6, 3, m)) {
                    SafeTensorsWriter oldFile = new SafeTensorsWriter().metadata("lora_rank", "4")
                            .metadata("lora_alpha", "6");
                    for (LoraAdapter a : lora.adapters().values()) {
                        a.up().addi(m.randomUniform(-0.2f, 0.2f, a.up().getShape()));
                        NDArray w = unet.attentionProjections().get(a.modulePath()).weight();
                        handMerge.put(a.modulePath(), w.add(a.up().matMul(a.down()).mul(6f / 4f)));
                        trainedB.put(a.modulePath(), a.up().toFloatArray());
                        oldFile.put("unet." + a.modulePath() + ".lora_A.weight", a.down())
                                .put("unet." + a.modulePath() + ".lora_B.weight", a.up());
                    }
                    oldFile.write(old);
                    for (LoraFormat format : LoraFormat.values()) {
                        lora.save(dir.resolve(format + ".safetensors"), format);
                    }
                }
                String path = handMerge.keySet().iterator().next();
                try (SafeTensorsFile peft = SafeTensorsFile.open(dir.resolve("PEFT.safetensors"))) {
                    assertEquals("4", peft.metadata().get("lora_alpha"));
                    assertEquals("6", peft.metadata().get("trained_lora_alpha"));
                    JsonObject config = JsonParser.parseString(peft.metadata().get("lora_adapter_metadata"))
                            .getAsJsonObject();
                    assertEquals(4, config.get("unet.r").getAsInt());
                    assertEquals(4f, config.get("unet.lora_alpha").getAsFloat());
                    assertEquals("[\"to_k\",\"to_out.0\",\"to_q\",\"to_v\"]", config.get("unet.target_modules").toString());
                    NDArray b = peft.load("unet." + path + ".lora_B.weight", m, DataType.FLOAT32);
                    float[] folded = trainedB.get(path).clone();
                    for (int i = 0; i < folded.length; i++) {
                        folded[i] *= 1.5f;
                    }
                    assertArrayEquals(folded, b.toFloatArray(), 1e-7f);
                }
                try (SafeTensorsFile kohya = SafeTensorsFile.open(dir.resolve("KOHYA.safetensors"))) {
                    String name = "lora_unet_" + path.replace('.', '_');
                    assertArrayEquals(trainedB.get(path),
                            kohya.load(name + ".lora_up.weight", m, DataType.FLOAT32).toFloatArray());
                    assertEquals(6f, kohya.load(name + ".alpha", m, DataType.FLOAT32).getFloat());
                }
                List<Path> files = new java.util.ArrayList<>(List.of(old));
                for (LoraFormat format : LoraFormat.values()) {
                    files.add(dir.resolve(format + ".safetensors"));
                }
                for (Path file : files) {
                    try (LoraNetwork reloaded = LoraNetwork.load(file, unet, m)) {
                        for (LoraAdapter a : reloaded.adapters().values()) {
                            NDArray w = unet.attentionProjections().get(a.modulePath()).weight();
                            NDArray merged = w.add(a.up().matMul(a.down()).mul(a.scale()));
                            assertArrayEquals(handMerge.get(a.modulePath()).toFloatArray(), merged.toFloatArray(),
                                    1e-6f, file.getFileName() + " " + a.modulePath());
                        }
                    }
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
                first = a.parameters().masters().get(0).toFloatArray();
                float bound = (float) (1 / Math.sqrt(32));
                for (float v : first) {
                    assertTrue(Math.abs(v) <= bound);
                }
                assertEquals(0f, a.parameters().masters().get(1).abs().max().getFloat());
                assertEquals(96, a.parameters().masters().size());
            }
            try (LoraNetwork b = LoraNetwork.create(unet, 4, 4, 7, m)) {
                assertArrayEquals(first, b.parameters().masters().get(0).toFloatArray());
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
