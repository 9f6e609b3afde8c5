package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import ai.djl.ndarray.index.NDIndex;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.GoldenTensors;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.lora.LoraNetwork;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.MemoryFormat;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class UNet2DConditionModelTest {
    private static final String SDXL_LIKE = """
            {"_class_name": "UNet2DConditionModel", "sample_size": 16, "block_out_channels": [32, 64],
             "down_block_types": ["DownBlock2D", "CrossAttnDownBlock2D"],
             "up_block_types": ["CrossAttnUpBlock2D", "UpBlock2D"], "layers_per_block": 2,
             "attention_head_dim": [2, 4], "cross_attention_dim": 48, "transformer_layers_per_block": [1, 2],
             "use_linear_projection": true, "upcast_attention": null, "addition_embed_type": "text_time",
             "addition_time_embed_dim": 8, "projection_class_embeddings_input_dim": 64}
            """;

    @ParameterizedTest
    @ValueSource(strings = {"tiny-sd15", "tiny-sd21v"})
    void outputsMatchDiffusersAtSampleSizeAndAt16x24(String caseName) {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors(caseName, m)) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m,
                        DataType.FLOAT32);
                NDArray t = golden.get("unet.timestep");
                NDArray ctx = golden.get("unet.encoder_hidden_states");
                NDArray out = unet.forward(golden.get("unet.sample"), t, ctx, null);
                GoldenTensors.assertComponentClose(caseName + " unet.out", golden.get("unet.out"), out);

                Map<String, NDArray> taps = new LinkedHashMap<>();
                NDArray small = unet.forward(golden.get("unet.sample_16x24"), t, ctx, null,
                        (name, value) -> {
                            // The tapped tensor dies with the module's scope: keep a copy outside it.
                            NDArray item0 = value.get(new NDIndex("0:1")).duplicate();
                            NDScope.unregister(item0);
                            taps.put(name, item0);
                        });
                GoldenTensors.assertComponentClose(caseName + " unet.out_16x24", golden.get("unet.out_16x24"), small);
                List<String> expected = List.of("time_proj", "time_embedding", "conv_in", "down_blocks.0",
                        "down_blocks.1", "mid_block", "up_blocks.0", "up_blocks.1", "conv_norm_out");
                assertEquals(expected, List.copyOf(taps.keySet()));
                for (String name : expected) {
                    GoldenTensors.assertComponentClose(caseName + " unet.debug_16x24." + name,
                            golden.get("unet.debug_16x24." + name), taps.get(name));
                }
            }
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"CHANNELS_LAST", "CONTIGUOUS"})
    void activationsRunInTheChosenLayoutAndTheOutputIsRowMajor(String layout) {
        MemoryFormat.Mode before = MemoryFormat.mode();
        MemoryFormat.setMode(MemoryFormat.Mode.valueOf(layout));
        boolean channelsLast = layout.equals("CHANNELS_LAST");
        try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd15", m)) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m,
                    DataType.FLOAT32);
            Map<String, Boolean> tapped = new LinkedHashMap<>();
            NDArray out = Autograd.noGrad(() -> unet.forward(golden.get("unet.sample"), golden.get("unet.timestep"),
                    golden.get("unet.encoder_hidden_states"), null,
                    (name, value) -> {
                        if (value.getShape().dimension() == 4) {
                            tapped.put(name, MemoryFormat.isChannelsLast(value));
                        }
                    }));
            // Every block (a transformer's residual add included) keeps the layout the convolutions run in.
            assertEquals(List.of("conv_in", "down_blocks.0", "down_blocks.1", "mid_block", "up_blocks.0",
                    "up_blocks.1", "conv_norm_out"), List.copyOf(tapped.keySet()));
            tapped.forEach((name, isChannelsLast) -> assertEquals(channelsLast, isChannelsLast, name));
            assertFalse(MemoryFormat.isChannelsLast(out));
            GoldenTensors.assertComponentClose("tiny-sd15 unet.out " + layout, golden.get("unet.out"), out);
        } finally {
            MemoryFormat.setMode(before);
        }
    }

    @Test
    void checkpointedBackwardGivesThePlainBackwardsGradients() {
        try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd21v", m)) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m, DataType.FLOAT32);
            try (LoraNetwork lora = LoraNetwork.create(unet, 2, 2, 11, m)) {
                // Non-zero B everywhere, so every adapter's A gets a gradient too.
                Autograd.noGrad(() -> lora.parameters().masters().forEach(p -> p.addi(0.03f)));
                lora.parameters().setTrainable(true);
                NDArray sample = golden.get("unet.sample_16x24");
                NDArray t = golden.get("unet.timestep");
                NDArray ctx = golden.get("unet.encoder_hidden_states");
                NDArray target = golden.get("unet.out_16x24");
                java.util.function.Function<NDArray, NDArray> loss = o -> o.sub(target).square().mean();

                float plainLoss = unet.lossAndBackward(sample, t, ctx, null, loss, false).getFloat();
                List<float[]> plain = lora.parameters().gradients().stream().map(NDArray::toFloatArray).toList();
                lora.parameters().zeroGradients();
                float checkpointedLoss = unet.lossAndBackward(sample, t, ctx, null, loss, true).getFloat();
                List<NDArray> checkpointed = lora.parameters().gradients();

                assertEquals(plainLoss, checkpointedLoss, 1e-6f * Math.abs(plainLoss));
                assertEquals(plain.size(), checkpointed.size());
                for (int i = 0; i < plain.size(); i++) {
                    NDArray expected = m.create(plain.get(i), checkpointed.get(i).getShape());
                    assertTrue(expected.abs().max().getFloat() > 0, lora.parameters().names().get(i) + " has no gradient");
                    GoldenTensors.assertClose(lora.parameters().names().get(i), expected, checkpointed.get(i), 1e-5, 0);
                }
            }
        }
    }

    @Test
    void segmentsDescribeTheLayoutOneResnetOrTransformerPieceAtATime() {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(GoldenTensors.ROOT.resolve("tiny-sd21v/unet"), m,
                    DataType.FLOAT32);
            // "<" takes the newest saved state, "[in]" / "[out]" save the segment's input / output.
            String layout = unet.segments().stream().map(s -> s.path() + (s.takesSaved() ? "<" : "")
                    + (s.savesInput() ? "[in]" : "") + (s.savesOutput() ? "[out]" : "")).reduce((a, b) -> a + " " + b)
                    .orElseThrow();
            String transformer = " down_blocks.0.attentions.%1$d.proj_in[in] down_blocks.0.attentions.%1$d"
                    + ".transformer_blocks.0 down_blocks.0.attentions.%1$d.proj_out<[out]";
            String upTransformer = " up_blocks.1.resnets.%1$d< up_blocks.1.attentions.%1$d.proj_in[in]"
                    + " up_blocks.1.attentions.%1$d.transformer_blocks.0 up_blocks.1.attentions.%1$d.proj_out<";
            String expected = "conv_in[out] down_blocks.0.resnets.0" + transformer.formatted(0)
                    + " down_blocks.0.resnets.1" + transformer.formatted(1)
                    + " down_blocks.0.downsamplers.0[out] down_blocks.1.resnets.0[out] down_blocks.1.resnets.1[out]"
                    + " mid_block.resnets.0 mid_block.attentions.0.proj_in[in] mid_block.attentions.0"
                    + ".transformer_blocks.0 mid_block.attentions.0.proj_out< mid_block.resnets.1"
                    + " up_blocks.0.resnets.0< up_blocks.0.resnets.1< up_blocks.0.resnets.2< up_blocks.0.upsamplers.0"
                    + upTransformer.formatted(0) + upTransformer.formatted(1) + upTransformer.formatted(2)
                    + " conv_norm_out conv_out";
            assertEquals(expected, layout);
            List<String> tapped = unet.segments().stream().map(UNetSegment::tap).filter(java.util.Objects::nonNull)
                    .toList();
            assertEquals(List.of("conv_in", "down_blocks.0", "down_blocks.1", "mid_block", "up_blocks.0",
                    "up_blocks.1", "conv_norm_out"), tapped);
        }
    }

    @Test
    void checkpointedBackwardOfAnSdxlLikeUNetGivesThePlainBackwardsGradients() {
        UNetConfig config = UNetConfig.parse("sdxl-like", SDXL_LIKE);
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.random(config, m, DataType.FLOAT32);
            // Two transformer blocks per transformer: the pieces between proj_in and proj_out are segments too.
            assertTrue(unet.segments().stream().anyMatch(s -> s.path().endsWith(".transformer_blocks.1")));
            ai.djl.ndarray.types.Shape shape = new ai.djl.ndarray.types.Shape(1, 4, 8, 12);
            NDArray sample = m.randomNormal(shape);
            NDArray target = m.randomNormal(shape);
            NDArray t = m.create(new long[] {500});
            NDArray ctx = m.randomNormal(new ai.djl.ndarray.types.Shape(1, 77, 48));
            AddedConditions added = new AddedConditions(m.randomNormal(new ai.djl.ndarray.types.Shape(1, 16)),
                    m.create(new float[] {64, 96, 0, 0, 64, 96}, new ai.djl.ndarray.types.Shape(1, 6)));
            try (LoraNetwork lora = LoraNetwork.create(unet, 2, 2, 5, m)) {
                Autograd.noGrad(() -> lora.parameters().masters().forEach(p -> p.addi(0.03f)));
                lora.parameters().setTrainable(true);
                assertSameGradients(lora, m,
                        () -> unet.lossAndBackward(sample, t, ctx, added, o -> o.sub(target).square().mean(), false),
                        () -> unet.lossAndBackward(sample, t, ctx, added, o -> o.sub(target).square().mean(), true));
            }
        }
    }

    /**
     * Weights held in fp16 always get the checkpointed backward (a plain graph would keep an fp32 copy of nearly
     * every weight), and its LoRA gradients are the plain backward's: compared with a model holding the same
     * fp16-rounded values in fp32, where the upcasts are exact.
     */
    @Test
    void fp16HeldWeightsAreCheckpointedAndGiveThePlainBackwardsGradients(@TempDir Path dir) throws IOException {
        Path source = GoldenTensors.ROOT.resolve("tiny-sd21v/unet");
        Files.copy(source.resolve("config.json"), dir.resolve("config.json"));
        try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd21v", m)) {
            try (SafeTensorsFile file = SafeTensorsFile.open(source.resolve("diffusion_pytorch_model.safetensors"))) {
                SafeTensorsWriter writer = new SafeTensorsWriter().metadata("format", "pt");
                file.tensors().keySet().forEach(k -> writer.put(k, file.load(k, m, DataType.FLOAT16)));
                writer.write(dir.resolve("diffusion_pytorch_model.safetensors"));
            }
            UNet2DConditionModel fp32Held = UNet2DConditionModel.load(dir, m, DataType.FLOAT32);
            UNet2DConditionModel fp16Held = UNet2DConditionModel.load(dir, m,
                    new Precision(DataType.FLOAT32, DataType.FLOAT16));
            assertFalse(fp32Held.checkpointsBackward(false));
            assertTrue(fp16Held.checkpointsBackward(false), "fp16-held weights must get the checkpointed backward");

            NDArray sample = golden.get("unet.sample_16x24");
            NDArray t = golden.get("unet.timestep");
            NDArray ctx = golden.get("unet.encoder_hidden_states");
            NDArray target = golden.get("unet.out_16x24");
            java.util.function.Function<NDArray, NDArray> loss = o -> o.sub(target).square().mean();
            try (LoraNetwork plain = LoraNetwork.create(fp32Held, 2, 2, 11, m);
                 LoraNetwork held = LoraNetwork.create(fp16Held, 2, 2, 11, m)) {
                for (LoraNetwork lora : List.of(plain, held)) {
                    Autograd.noGrad(() -> lora.parameters().masters().forEach(p -> p.addi(0.03f)));
                    lora.parameters().setTrainable(true);
                }
                float plainLoss = fp32Held.lossAndBackward(sample, t, ctx, null, loss, false).getFloat();
                float heldLoss = fp16Held.lossAndBackward(sample, t, ctx, null, loss, false).getFloat();
                assertEquals(plainLoss, heldLoss, 1e-6f * Math.abs(plainLoss));
                List<NDArray> expected = plain.parameters().gradients();
                List<NDArray> actual = held.parameters().gradients();
                assertEquals(expected.size(), actual.size());
                for (int i = 0; i < expected.size(); i++) {
                    assertTrue(expected.get(i).abs().max().getFloat() > 0, plain.parameters().names().get(i) + " has no gradient");
                    GoldenTensors.assertClose(held.parameters().names().get(i), expected.get(i), actual.get(i), 1e-5, 0);
                }
            }
        }
    }

    /** Runs {@code plain}, then (gradients zeroed) {@code checkpointed}: same loss and LoRA gradients to 1e-5. */
    private static void assertSameGradients(LoraNetwork lora, NDManager m, java.util.function.Supplier<NDArray> plain,
                                            java.util.function.Supplier<NDArray> checkpointed) {
        float plainLoss = plain.get().getFloat();
        List<float[]> expected = lora.parameters().gradients().stream().map(NDArray::toFloatArray).toList();
        lora.parameters().zeroGradients();
        float checkpointedLoss = checkpointed.get().getFloat();
        List<NDArray> actual = lora.parameters().gradients();
        assertEquals(plainLoss, checkpointedLoss, 1e-6f * Math.abs(plainLoss));
        assertEquals(expected.size(), actual.size());
        for (int i = 0; i < expected.size(); i++) {
            NDArray e = m.create(expected.get(i), actual.get(i).getShape());
            assertTrue(e.abs().max().getFloat() > 0, lora.parameters().names().get(i) + " has no gradient");
            GoldenTensors.assertClose(lora.parameters().names().get(i), e, actual.get(i), 1e-5, 0);
        }
    }

    @Test
    void float16ModelWithUpcastAttentionStaysCloseToFloat32() {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd21v", m)) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(golden.caseDir().resolve("unet"), m,
                        DataType.FLOAT16);
                NDArray out = unet.forward(golden.get("unet.sample").toType(DataType.FLOAT16, false),
                        golden.get("unet.timestep"),
                        golden.get("unet.encoder_hidden_states").toType(DataType.FLOAT16, false), null);
                assertEquals(DataType.FLOAT16, out.getDataType());
                // Half precision: about 3 decimal digits survive 2 levels of resnets and attention.
                GoldenTensors.assertClose("fp16 unet.out", golden.get("unet.out"), out, 2e-2, 1);
            }
        });
    }

    @Test
    void oddLatentSizesUpsampleToTheSkipSize() {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(
                        GoldenTensors.ROOT.resolve("tiny-sd15/unet"), m, DataType.FLOAT32);
                NDArray out = unet.forward(m.randomNormal(new ai.djl.ndarray.types.Shape(1, 4, 9, 7)),
                        m.create(new long[] {10}), m.randomNormal(new ai.djl.ndarray.types.Shape(1, 77, 32)), null);
                assertEquals(new ai.djl.ndarray.types.Shape(1, 4, 9, 7), out.getShape());
            }
        });
    }

    @Test
    void unsupportedConfigOptionFailsNamingFileAndField(@TempDir Path dir) throws IOException {
        String config = Files.readString(GoldenTensors.ROOT.resolve("tiny-sd15/unet/config.json"));
        Files.writeString(dir.resolve("config.json"),
                config.replace("\"class_embed_type\": null", "\"class_embed_type\": \"timestep\""));
        PipelineException e = assertThrows(PipelineException.class, () -> UNetConfig.load(dir));
        assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("class_embed_type"), e.getMessage());

        Files.writeString(dir.resolve("config.json"),
                config.replace("\"down_block_types\": [", "\"down_block_types\": [\"SimpleCrossAttnDownBlock2D\", "));
        e = assertThrows(PipelineException.class, () -> UNetConfig.load(dir));
        assertTrue(e.getMessage().contains("down_block_types"), e.getMessage());

        Files.writeString(dir.resolve("config.json"), config.replace("\"act_fn\"", "\"made_up_option\": 1, \"act_fn\""));
        e = assertThrows(PipelineException.class, () -> UNetConfig.load(dir));
        assertTrue(e.getMessage().contains("made_up_option"), e.getMessage());
    }

    @Test
    void misshapenOrMissingWeightFailsAtLoadNamingFileAndKey(@TempDir Path dir) throws IOException {
        Path unet = GoldenTensors.ROOT.resolve("tiny-sd15/unet");
        Files.copy(unet.resolve("diffusion_pytorch_model.safetensors"), dir.resolve("diffusion_pytorch_model.safetensors"));
        String config = Files.readString(unet.resolve("config.json"));
        Files.writeString(dir.resolve("config.json"), config.replace("\"cross_attention_dim\": 32", "\"cross_attention_dim\": 48"));
        try (NDManager m = NDManager.newBaseManager()) {
            WeightsException e = assertThrows(WeightsException.class,
                    () -> UNet2DConditionModel.load(dir, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("diffusion_pytorch_model.safetensors")
                    && e.getMessage().contains("down_blocks.0.attentions.0.transformer_blocks.0.attn2.to_k.weight"),
                    e.getMessage());

            Files.writeString(dir.resolve("config.json"), config.replace("\"layers_per_block\": 2", "\"layers_per_block\": 3"));
            e = assertThrows(WeightsException.class, () -> UNet2DConditionModel.load(dir, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("missing weight") && e.getMessage().contains("resnets.2"), e.getMessage());
        }
    }

    @Test
    void sdxlLikeConfigUsesTextTimeEmbeddingAndPerLevelTransformerDepth() {
        UNetConfig config = UNetConfig.parse("sdxl-like", SDXL_LIKE);
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                UNet2DConditionModel unet = UNet2DConditionModel.random(config, m, DataType.FLOAT32);
                assertTrue(unet.attentionProjections().containsKey(
                        "up_blocks.0.attentions.2.transformer_blocks.1.attn2.to_out.0"));
                assertTrue(unet.attentionProjections().containsKey("mid_block.attentions.0.transformer_blocks.1.attn1.to_q"));
                // down 2x2 transformer layers, mid 2, up 3x2; 2 attentions x 4 projections each.
                assertEquals((4 + 2 + 6) * 8, unet.attentionProjections().size());
                ai.djl.ndarray.types.Shape shape = new ai.djl.ndarray.types.Shape(1, 4, 8, 12);
                NDArray sample = m.randomNormal(shape);
                NDArray t = m.create(new long[] {500});
                NDArray ctx = m.randomNormal(new ai.djl.ndarray.types.Shape(1, 77, 48));
                NDArray pooled = m.randomNormal(new ai.djl.ndarray.types.Shape(1, 16));
                NDArray ids = m.create(new float[] {64, 96, 0, 0, 64, 96}, new ai.djl.ndarray.types.Shape(1, 6));
                NDArray out = unet.forward(sample, t, ctx, new AddedConditions(pooled, ids));
                assertEquals(shape, out.getShape());
                NDArray otherIds = m.create(new float[] {128, 128, 0, 0, 64, 96}, new ai.djl.ndarray.types.Shape(1, 6));
                NDArray other = unet.forward(sample, t, ctx, new AddedConditions(pooled, otherIds));
                assertTrue(out.sub(other).abs().max().getFloat() > 1e-4f, "time ids must condition the output");
                assertThrows(IllegalArgumentException.class, () -> unet.forward(sample, t, ctx, null));
            }
        });
    }

    @Test
    void presetsParseWithTheRealModelsShapes() {
        UNetConfig sd15 = UNetConfig.preset("sd15");
        assertEquals(List.of(8, 8, 8, 8), java.util.Arrays.stream(sd15.numAttentionHeads()).boxed().toList());
        UNetConfig sd21 = UNetConfig.preset("sd21");
        assertEquals(1024, sd21.crossAttentionDim()[0]);
        UNetConfig sdxl = UNetConfig.preset("sdxl");
        assertEquals(10, sdxl.reverseTransformerLayersPerBlock()[0][0]);
        assertEquals(1, sdxl.reverseTransformerLayersPerBlock()[2][2]);
        assertTrue(sdxl.hasTextTimeEmbedding());
    }
}
