package dev.selectune.diffusion.pipeline;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.PipelineException;

import java.awt.image.BufferedImage;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import javax.imageio.ImageIO;

/** Pipeline images (RGB in [0, 1], channels first) to 8-bit RGB {@link BufferedImage}s and PNG files. */
public final class PngImages {
    private PngImages() {
    }

    /**
     * Converts one image, (3, H, W) or (1, 3, H, W), in [0, 1]. Values are clamped and rounded to the nearest
     * 8-bit level, as diffusers' {@code numpy_to_pil} does with {@code (x * 255).round()}.
     */
    public static BufferedImage toImage(NDArray image) {
        Shape shape = image.getShape();
        if (shape.dimension() == 4 && shape.get(0) == 1) {
            shape = shape.slice(1);
        }
        if (shape.dimension() != 3 || shape.get(0) != 3) {
            throw new IllegalArgumentException("expected an RGB image (3,H,W) or (1,3,H,W), got " + image.getShape());
        }
        int h = Math.toIntExact(shape.get(1));
        int w = Math.toIntExact(shape.get(2));
        float[] px = image.toType(DataType.FLOAT32, false).toFloatArray();
        BufferedImage out = new BufferedImage(w, h, BufferedImage.TYPE_INT_RGB);
        int plane = h * w;
        for (int y = 0; y < h; y++) {
            for (int x = 0; x < w; x++) {
                int i = y * w + x;
                int rgb = level(px[i]) << 16 | level(px[plane + i]) << 8 | level(px[2 * plane + i]);
                out.setRGB(x, y, rgb);
            }
        }
        return out;
    }

    private static int level(float v) {
        float clamped = Math.max(0f, Math.min(1f, v));
        return Math.round(clamped * 255f);
    }

    /** Writes an image tensor as a PNG (to a temporary sibling first, so a reader never sees half a file). */
    public static void writePng(NDArray image, Path file) {
        write(toImage(image), file);
    }

    public static void write(BufferedImage image, Path file) {
        try {
            Path parent = file.toAbsolutePath().getParent();
            Files.createDirectories(parent);
            Path tmp = Files.createTempFile(parent, file.getFileName().toString(), ".part");
            try {
                if (!ImageIO.write(image, "png", tmp.toFile())) {
                    throw new IOException("no PNG writer available in javax.imageio");
                }
                Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } finally {
                Files.deleteIfExists(tmp);
            }
        } catch (IOException e) {
            throw new PipelineException("cannot write PNG " + file + ": " + e.getMessage(), e);
        }
    }
}
