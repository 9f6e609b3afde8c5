package dev.selectune.diffusion.clip;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenCase;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.WeightsException;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.io.TempDir;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.stream.Stream;

import static dev.selectune.diffusion.GoldenCase.assertClose;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

/** The text encoders against the tiny cases' {@code text.*} golden entries (transformers 4.38 outputs). */
class CLIPTextModelTest {

    @TestFactory
    Stream<DynamicTest> textEncoderMatchesGolden() {
        List<DynamicTest> tests = new ArrayList<>();
        for (Path folder : GoldenCase.bundledCases()) {
            tests.add(DynamicTest.dynamicTest(folder.getFileName().toString(), () -> Autograd.noGrad(() -> {
                try (GoldenCase golden = GoldenCase.load(folder); NDManager m = NDManager.newBaseManager()) {
                    CLIPTextModel model = CLIPTextModel.load(folder.resolve("text_encoder"), m, DataType.FLOAT32);
                    NDArray ids = golden.get("text.input_ids");
                    try (CLIPTextOutput out = model.forward(ids, true)) {
                        golden.assertComponent("text.last_hidden_state", out.lastHiddenState());
                        golden.assertComponent("text.pooler_output", out.pooledOutput());
                        assertEquals(model.config().numHiddenLayers() + 1, out.hiddenStates().size());
                        for (int i = 0; i < out.hiddenStates().size(); i++) {
                            golden.assertComponent("text.hidden_states." + i, out.hiddenStates().get(i));
                        }
                        // The early-exit path gives the same penultimate state as the full forward.
                        try (NDArray penultimate = model.hiddenState(ids, -2)) {
                            golden.assertComponent("text.hidden_states." + (out.hiddenStates().size() - 2), penultimate);
                        }
                    }
                }
            })));
        }
        return tests.stream();
    }

    /**
     * Configs with a real eos_token_id (not the legacy 2) pool at the first position holding that id, not at the
     * argmax; a row without it pools position 0 (torch's argmax of an all-false mask).
     */
    @Test
    void poolsAtFirstEosTokenWhenTheConfigNamesOne(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("text_encoder");
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        // 320 is "a</w>": at position 1 in the first prompt, absent from the second row below.
        Files.writeString(dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"eos_token_id\": 2", "\"eos_token_id\": 320"));
        Autograd.noGrad(() -> {
            try (GoldenCase golden = GoldenCase.load(GoldenCase.resource("tiny-sd15")); NDManager m = NDManager.newBaseManager()) {
                CLIPTextModel model = CLIPTextModel.load(dir, m, DataType.FLOAT32);
                long[] ids = golden.longs("text.input_ids");
                long[] second = new long[77];
                java.util.Arrays.fill(second, 999);
                second[0] = 998;
                second[1] = 5;
                System.arraycopy(second, 0, ids, 77, 77);
                NDArray input = m.create(ids, new Shape(2, 77));
                try (CLIPTextOutput out = model.forward(input)) {
                    NDArray last = out.lastHiddenState();
                    assertClose("row 0 pools at the first 320", out.pooledOutput().get(0), last.get(0, 1), 0);
                    assertClose("row 1 has no 320: position 0", out.pooledOutput().get(1), last.get(1, 0), 0);
                }
            }
        });
    }

    /**
     * The GPU path holds the text encoder in fp16 (the causal mask then becomes -inf). On the CPU the same model in
     * fp16 stays within fp16 rounding of the fp32 golden (measured 7.5e-3 on values up to 3.7), with no NaN.
     */
    @Test
    void halfPrecisionStaysWithinHalfPrecisionRounding() {
        Path folder = GoldenCase.resource("tiny-sd21v");
        Autograd.noGrad(() -> {
            try (GoldenCase golden = GoldenCase.load(folder); NDManager m = NDManager.newBaseManager()) {
                CLIPTextModel model = CLIPTextModel.load(folder.resolve("text_encoder"), m, DataType.FLOAT16);
                try (CLIPTextOutput out = model.forward(golden.get("text.input_ids"))) {
                    assertEquals(DataType.FLOAT16, out.lastHiddenState().getDataType());
                    NDArray expected = golden.get("text.last_hidden_state");
                    GoldenCase.assertClose("fp16 text.last_hidden_state", out.lastHiddenState(), expected,
                            GoldenCase.tolerance(1e-2, expected));
                }
            }
        });
    }

    /** text_embeds = pooled @ W^T with W read from the file, checked element by element in double precision. */
    @Test
    void withProjectionProjectsThePooledOutput(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("text_encoder");
        int projection = 24;
        float[] w = randomFloats(projection * 32, 7);
        try (NDManager files = NDManager.newBaseManager()) {
            writeWithExtraKeys(src, dir, files, List.of("text_projection.weight", "text_model.embeddings.position_ids"),
                    List.of(files.create(w, new Shape(projection, 32)), files.arange(0L, 77L).reshape(1, 77)));
        }
        Files.writeString(dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"projection_dim\": 512", "\"projection_dim\": " + projection));
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager(); GoldenCase golden = GoldenCase.load(GoldenCase.resource("tiny-sd15"))) {
                CLIPTextModelWithProjection model = CLIPTextModelWithProjection.load(dir, m, DataType.FLOAT32);
                try (CLIPTextOutput out = model.forward(golden.get("text.input_ids"))) {
                    golden.assertComponent("text.pooler_output", out.pooledOutput());
                    float[] pooled = out.pooledOutput().toFloatArray();
                    float[] expected = new float[2 * projection];
                    for (int b = 0; b < 2; b++) {
                        for (int o = 0; o < projection; o++) {
                            double acc = 0;
                            for (int i = 0; i < 32; i++) {
                                acc += (double) pooled[b * 32 + i] * w[o * 32 + i];
                            }
                            expected[b * projection + o] = (float) acc;
                        }
                    }
                    assertEquals(new Shape(2, projection), out.textEmbeds().getShape());
                    GoldenCase.assertClose("text_embeds", out.textEmbeds().toFloatArray(), expected, 1e-5);
                }
            }
        });
    }

    @Test
    void unknownWeightFailsTheLoadNamingIt(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("text_encoder");
        try (NDManager m = NDManager.newBaseManager()) {
            writeWithExtraKeys(src, dir, m, List.of("text_model.encoder.layers.2.mlp.fc1.weight"), List.of(m.ones(new Shape(37, 32))));
            Files.copy(src.resolve("config.json"), dir.resolve("config.json"));
            WeightsException e = assertThrows(WeightsException.class, () -> CLIPTextModel.load(dir, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("text_model.encoder.layers.2.mlp.fc1.weight"), e.getMessage());
        }
    }

    @Test
    void unsupportedActivationFailsNamingFileAndField(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("text_encoder");
        Files.writeString(dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"quick_gelu\"", "\"relu\""));
        try (NDManager m = NDManager.newBaseManager()) {
            PipelineException e = assertThrows(PipelineException.class, () -> CLIPTextModel.load(dir, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("config.json") && e.getMessage().contains("hidden_act"), e.getMessage());
        }
    }

    @Test
    void misshapenWeightFailsTheLoadNamingIt(@TempDir Path dir) throws IOException {
        Path src = GoldenCase.resource("tiny-sd15").resolve("text_encoder");
        Files.copy(src.resolve("model.safetensors"), dir.resolve("model.safetensors"));
        Files.writeString(dir.resolve("config.json"),
                Files.readString(src.resolve("config.json")).replace("\"intermediate_size\": 37", "\"intermediate_size\": 36"));
        try (NDManager m = NDManager.newBaseManager()) {
            WeightsException e = assertThrows(WeightsException.class, () -> CLIPTextModel.load(dir, m, DataType.FLOAT32));
            assertTrue(e.getMessage().contains("text_model.encoder.layers.0.mlp.fc1.weight"), e.getMessage());
        }
    }

    private static void writeWithExtraKeys(Path srcDir, Path dir, NDManager m, List<String> keys, List<NDArray> values) {
        SafeTensorsWriter writer = new SafeTensorsWriter();
        try (SafeTensorsFile file = SafeTensorsFile.open(srcDir.resolve("model.safetensors"))) {
            for (String k : file.tensors().keySet()) {
                writer.put(k, file.load(k, m, DataType.FLOAT32));
            }
        }
        for (int i = 0; i < keys.size(); i++) {
            writer.put(keys.get(i), values.get(i));
        }
        writer.write(dir.resolve("model.safetensors"));
    }

    private static float[] randomFloats(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        float[] out = new float[n];
        for (int i = 0; i < n; i++) {
            out[i] = (float) (r.nextDouble() * 2 - 1) * 0.2f;
        }
        return out;
    }
}
