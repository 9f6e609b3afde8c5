package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.nio.file.Path;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

class PngImagesTest {
    @TempDir
    Path tmp;

    @Test
    void writesChannelsFirstImageAsRgbPngWithRoundingAndClamping() throws Exception {
        try (NDManager m = NDManager.newBaseManager()) {
            // 1x3x2x2: red plane, green plane, blue plane; row-major pixels (0,0) (1,0) (0,1) (1,1).
            float[] px = {
                1f, 0.5f, 0f, 2f,      // R (2 clamps to 1)
                0f, 0.5f, 1f, -1f,     // G (-1 clamps to 0)
                0.2f, 0.5f, 0f, 0.998f // B
            };
            NDArray image = m.create(px, new Shape(1, 3, 2, 2));
            Path file = tmp.resolve("out/sample.png");
            PngImages.writePng(image, file);
            BufferedImage read = ImageIO.read(file.toFile());
            assertEquals(2, read.getWidth());
            assertEquals(2, read.getHeight());
            assertEquals(rgb(255, 0, 51), read.getRGB(0, 0) & 0xffffff);
            assertEquals(rgb(128, 128, 128), read.getRGB(1, 0) & 0xffffff);
            assertEquals(rgb(0, 255, 0), read.getRGB(0, 1) & 0xffffff);
            assertEquals(rgb(255, 0, 254), read.getRGB(1, 1) & 0xffffff);
        }
    }

    @Test
    void rejectsNonRgbShapes() {
        try (NDManager m = NDManager.newBaseManager()) {
            assertThrows(IllegalArgumentException.class, () -> PngImages.toImage(m.zeros(new Shape(2, 3, 4, 4))));
            assertThrows(IllegalArgumentException.class, () -> PngImages.toImage(m.zeros(new Shape(4, 4, 4))));
        }
    }

    private static int rgb(int r, int g, int b) {
        return r << 16 | g << 8 | b;
    }
}
