package dev.selectune.training.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;

/**
 * Decodes all of an image's pixel data and refuses a file that does not decode completely. ImageIO decodes a
 * truncated JPEG without an exception (libjpeg pads it with grey and only warns "Premature end of JPEG file"), and
 * a PNG cut right after its last IDAT without noticing the missing IEND; both count as broken here.
 */
final class CompleteDecode {
    private CompleteDecode() {
    }

    /**
     * The image read with every {@code subsampling}-th pixel of every {@code subsampling}-th row kept: the reader
     * still inflates or entropy-decodes the whole stream, so a cut or corrupt file fails at any subsampling.
     *
     * @throws ImageProbe.InvalidImageException unreadable, truncated or corrupt
     */
    static BufferedImage read(byte[] bytes, int subsampling) {
        String format = ImageProbe.sniffFormat(bytes);
        String name = format == null ? "image" : format;
        if ("png".equals(format)) {
            checkPngChunks(bytes);
        }
        List<String> warnings = new ArrayList<>();
        BufferedImage image;
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
            if (!readers.hasNext()) {
                throw new ImageProbe.InvalidImageException("not a JPEG, PNG or WebP image");
            }
            ImageReader reader = readers.next();
            try {
                reader.setInput(in, true, true);
                reader.addIIOReadWarningListener((source, warning) -> warnings.add(warning));
                ImageReadParam param = reader.getDefaultReadParam();
                param.setSourceSubsampling(subsampling, subsampling, 0, 0);
                image = reader.read(0, param);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageProbe.InvalidImageException invalid) {
                throw invalid;
            }
            throw new ImageProbe.InvalidImageException(name + " image does not decode: " + e.getMessage());
        }
        for (String w : warnings) {
            if (meansMissingPixels(w)) {
                throw new ImageProbe.InvalidImageException(name + " image is truncated or corrupt: " + w);
            }
        }
        return image;
    }

    /**
     * libjpeg's and TwelveMonkeys' words for pixel data that ran out or did not decode. "N extraneous bytes before
     * marker" is not among them: the pixels are all there, and cameras write such files.
     */
    static boolean meansMissingPixels(String warning) {
        String w = warning.toLowerCase(Locale.ROOT);
        if (w.contains("extraneous bytes")) {
            return false;
        }
        return w.contains("premature end") || w.contains("truncated") || w.contains("missing eoi")
                || w.contains("corrupt");
    }

    /** Walks the chunk list: every chunk must lie inside the file and the list must end with IEND. */
    private static void checkPngChunks(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes);
        int pos = 8;
        while (pos + 8 <= bytes.length) {
            long length = Integer.toUnsignedLong(b.getInt(pos));
            String type = new String(bytes, pos + 4, 4, StandardCharsets.ISO_8859_1);
            long end = pos + 12L + length;
            if (end > bytes.length) {
                throw new ImageProbe.InvalidImageException("png image is truncated: its " + type + " chunk needs "
                        + (end - bytes.length) + " more bytes");
            }
            if (type.equals("IEND")) {
                return;
            }
            pos = (int) end;
        }
        throw new ImageProbe.InvalidImageException("png image is truncated: it has no IEND chunk");
    }
}
