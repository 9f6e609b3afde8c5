package dev.selectune.diffusion.models;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.GoldenTensors;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Weights;
import org.junit.jupiter.api.Test;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

class SharedBlocksTest {

    @Test
    void timestepProjectionAndEmbeddingMatchDiffusers() {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager();
                 GoldenTensors golden = new GoldenTensors("tiny-sd15", m);
                 Weights w = Weights.open(golden.caseDir().resolve("unet"), "diffusion_pytorch_model", m,
                         DataType.FLOAT32)) {
                NDArray t = m.create(new long[] {999});
                NDArray proj = new Timesteps(32, true, 0).forward(t);
                GoldenTensors.assertComponentClose("time_proj", golden.get("unet.debug_16x24.time_proj"), proj);
                NDArray emb = TimestepEmbedding.load(w.child("time_embedding"), 32, 128, "silu").forward(proj);
                GoldenTensors.assertComponentClose("time_embedding", golden.get("unet.debug_16x24.time_embedding"), emb);
            }
        });
    }

    @Test
    void upsampleIsNearestAndVaeDownsamplePadsRightAndBottom() {
        Autograd.noGrad(() -> {
            try (NDManager m = NDManager.newBaseManager()) {
                NDArray x = m.create(new float[] {1, 2, 3, 4, 5, 6}, new Shape(1, 1, 2, 3));
                NDArray up = Upsample2D.nearest2x(x, 0, 0);
                assertArrayEquals(new float[] {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6},
                        up.toFloatArray());
                assertEquals(new Shape(1, 1, 3, 5), Upsample2D.nearest2x(x, 3, 5).getShape());

                // A 3x3 kernel of ones: with pad (0,1,0,1) and stride 2 the first window sums rows 0-2, cols 0-2.
                Weights rw = Weights.random(m, DataType.FLOAT32);
                Downsample2D vae = Downsample2D.load(rw, 1, 1, 0);
                Downsample2D unet = Downsample2D.load(rw, 1, 1, 1);
                NDArray img = m.ones(new Shape(1, 1, 4, 4));
                assertEquals(new Shape(1, 1, 2, 2), vae.forward(img).getShape());
                assertEquals(new Shape(1, 1, 2, 2), unet.forward(img).getShape());
            }
        });
    }
}
