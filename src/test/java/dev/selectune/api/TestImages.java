package dev.selectune.api;

import dev.selectune.jobs.NewImage;
import dev.selectune.util.Hashes;
import dev.selectune.training.data.ImageProbe;
import org.springframework.mock.web.MockMultipartFile;

import javax.imageio.ImageIO;
import java.awt.image.BufferedImage;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Random;
import java.util.zip.CRC32;

/** Upload fixtures: the DreamBooth dog photos of examples/ and crafted bad files. */
public final class TestImages {
    private TestImages() {
    }

    public static byte[] dog(int i) {
        try {
            return Files.readAllBytes(Path.of("examples/images/dog/0" + i + ".jpg"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Photo {@code i} as upload validation hands it to {@code JobService}. */
    public static NewImage newImage(int i) {
        byte[] bytes = dog(i);
        return new NewImage("0" + i + ".jpg", bytes, ImageProbe.probeAndDecode(bytes, 4096), Hashes.sha256Hex(bytes));
    }

    static MockMultipartFile part(String filename, String contentType, byte[] bytes) {
        return new MockMultipartFile("images", filename, contentType, bytes);
    }

    static MockMultipartFile dogPart(int i) {
        return part("0" + i + ".jpg", "image/jpeg", dog(i));
    }

    static byte[] encode(BufferedImage image, String format) {
        try {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            if (!ImageIO.write(image, format, out)) {
                throw new IllegalStateException("no writer for " + format);
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] png(int width, int height) {
        return encode(new BufferedImage(width, height, BufferedImage.TYPE_INT_RGB), "png");
    }

    /** Random pixels barely compress: a PNG of about 3 * width * height bytes. */
    static byte[] noisyPng(int side) {
        BufferedImage image = new BufferedImage(side, side, BufferedImage.TYPE_INT_RGB);
        Random r = new Random(1);
        for (int y = 0; y < side; y++) {
            for (int x = 0; x < side; x++) {
                image.setRGB(x, y, r.nextInt());
            }
        }
        return encode(image, "png");
    }

    /**
     * A PNG whose IHDR claims width x height but carries no pixel data: what a decompression bomb's header looks like.
     * Decoding it would fail (or, for a real bomb, allocate gigabytes); the probe must refuse it from the header.
     */
    static byte[] pngHeaderOnly(int width, int height) {
        ByteBuffer ihdr = ByteBuffer.allocate(13).putInt(width).putInt(height)
                .put((byte) 8).put((byte) 2).put((byte) 0).put((byte) 0).put((byte) 0);
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        out.writeBytes(new byte[] {(byte) 0x89, 'P', 'N', 'G', 0x0d, 0x0a, 0x1a, 0x0a});
        chunk(out, "IHDR", ihdr.array());
        chunk(out, "IEND", new byte[0]);
        return out.toByteArray();
    }

    private static void chunk(ByteArrayOutputStream out, String type, byte[] data) {
        byte[] t = type.getBytes(StandardCharsets.US_ASCII);
        out.writeBytes(ByteBuffer.allocate(4).putInt(data.length).array());
        out.writeBytes(t);
        out.writeBytes(data);
        CRC32 crc = new CRC32();
        crc.update(t);
        crc.update(data);
        out.writeBytes(ByteBuffer.allocate(4).putInt((int) crc.getValue()).array());
    }
}
