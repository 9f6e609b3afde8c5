package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.GoldenTensors;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.Map;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

class LoraAdaptersTest {
    private static final Path TINY = GoldenTensors.ROOT.resolve("tiny-sd15");

    /**
     * Two LoRAs at weights a and b (diffusers' set_adapters) give the UNet output of base weights with both deltas
     * merged by hand, W + a alpha1/r1 B1 A1 + b alpha2/r2 B2 A2; disabling them gives the base output bit for bit.
     * The first LoRA is diffusers' own file, the second one this code trained and wrote in the kohya naming.
     */
    @Test
    void twoAdaptersAtTheirWeightsMatchTheHandMergedDeltaAndRemovalRestoresTheBase(@TempDir Path dir) {
        float a = 0.8f;
        float b = -0.45f;
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager(); GoldenTensors golden = new GoldenTensors("tiny-sd15", m)) {
                UNet2DConditionModel unet = UNet2DConditionModel.load(TINY.resolve("unet"), m, DataType.FLOAT32);
                NDArray sample = golden.get("unet.sample");
                NDArray t = golden.get("unet.timestep");
                NDArray ctx = golden.get("unet.encoder_hidden_states");
                float[] base = unet.forward(sample, t, ctx, null).toFloatArray();
                Path second = dir.resolve("second.safetensors");
                try (LoraNetwork trained = LoraNetwork.create(unet, 2, 3, 7, m)) {
                    trained.adapters().values().forEach(x -> x.up().addi(m.randomUniform(-0.3f, 0.3f,
                            x.up().getShape())));
                    trained.save(second, LoraFormat.KOHYA);
                }
                Path first = TINY.resolve("pytorch_lora_weights.safetensors");

                UNet2DConditionModel merged = UNet2DConditionModel.load(TINY.resolve("unet"), m, DataType.FLOAT32);
                try (LoraNetwork one = LoraNetwork.read(first, merged, m);
                     LoraNetwork two = LoraNetwork.read(second, merged, m)) {
                    addDeltas(merged, one, a);
                    addDeltas(merged, two, b);
                }
                float[] handMerged = merged.forward(sample, t, ctx, null).toFloatArray();

                try (LoraAdapters loras = new LoraAdapters(unet, m)) {
                    loras.load("dog", first);
                    loras.load("style", second);
                    assertArrayEquals(base, unet.forward(sample, t, ctx, null).toFloatArray(),
                            "loading does not activate");
                    Map<String, Float> weights = new LinkedHashMap<>();
                    weights.put("dog", a);
                    weights.put("style", b);
                    loras.set(weights);
                    float[] composed = unet.forward(sample, t, ctx, null).toFloatArray();
                    assertClose(handMerged, composed, 2e-4f);
                    assertTrue(maxDiff(base, composed) > 1e-2f, "the LoRAs change the output");

                    loras.set(Map.of("dog", a));
                    float[] onlyDog = unet.forward(sample, t, ctx, null).toFloatArray();
                    assertTrue(maxDiff(onlyDog, composed) > 1e-3f, "switching adapters changes the output");

                    loras.disable();
                    assertArrayEquals(base, unet.forward(sample, t, ctx, null).toFloatArray(),
                            "disabling restores the base exactly");
                    loras.set(weights);
                    assertClose(composed, unet.forward(sample, t, ctx, null).toFloatArray(), 0f);
                    loras.delete("style");
                    loras.delete("dog");
                    assertEquals(Map.of(), loras.active());
                    assertArrayEquals(base, unet.forward(sample, t, ctx, null).toFloatArray(),
                            "deleting the active LoRAs restores the base exactly");
                }
            }
        });
    }

    @Test
    void unknownNameAndDuplicateNameAreRefused() {
        try (NDManager m = NDManager.newBaseManager()) {
            UNet2DConditionModel unet = UNet2DConditionModel.load(TINY.resolve("unet"), m, DataType.FLOAT32);
            try (LoraAdapters loras = new LoraAdapters(unet, m)) {
                loras.load("dog", TINY.resolve("pytorch_lora_weights.safetensors"));
                assertThrows(IllegalArgumentException.class,
                        () -> loras.load("dog", TINY.resolve("pytorch_lora_weights.safetensors")));
                assertThrows(IllegalArgumentException.class, () -> loras.set(Map.of("cat", 1f)));
                assertThrows(IllegalArgumentException.class, () -> loras.set(Map.of("dog", Float.NaN)));
            }
        }
    }

    /** W += weight * alpha / r * B A on every layer the network adapts. */
    private static void addDeltas(UNet2DConditionModel unet, LoraNetwork network, float weight) {
        for (LoraAdapter x : network.adapters().values()) {
            Linear linear = unet.attentionProjections().get(x.modulePath());
            try (NDArray delta = x.up().matMul(x.down()).mul(weight * x.alpha() / x.rank())) {
                linear.weight().addi(delta);
            }
        }
    }

    private static void assertClose(float[] expected, float[] actual, float tolerance) {
        assertEquals(expected.length, actual.length);
        float scale = 0;
        for (float v : expected) {
            scale = Math.max(scale, Math.abs(v));
        }
        float diff = maxDiff(expected, actual);
        assertTrue(diff <= tolerance * Math.max(1f, scale), "max difference " + diff + " (scale " + scale + ")");
    }

    private static float maxDiff(float[] x, float[] y) {
        float d = 0;
        for (int i = 0; i < x.length; i++) {
            d = Math.max(d, Math.abs(x[i] - y[i]));
        }
        return d;
    }
}
