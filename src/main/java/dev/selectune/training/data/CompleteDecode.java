package dev.selectune.training.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReadParam;
import javax.imageio.ImageReader;
import javax.imageio.ImageTypeSpecifier;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.awt.image.BufferedImage;
import java.awt.image.DataBuffer;
import java.awt.image.SampleModel;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Locale;
import java.util.function.IntBinaryOperator;

/**
 * Decodes all of an image's pixel data and refuses a file that does not decode completely. ImageIO decodes a
 * truncated JPEG without an exception (libjpeg pads it with grey and only warns "Premature end of JPEG file"), and
 * a PNG cut right after its last IDAT without noticing the missing IEND; both count as broken here.
 */
final class CompleteDecode {
    private CompleteDecode() {
    }

    /**
     * The image read with every s-th pixel of every s-th row kept, s = {@code subsampling(width, height)}: the reader
     * still inflates or entropy-decodes the whole stream, so a cut or corrupt file fails at any subsampling, but only
     * the kept pixels are stored. The decode runs inside {@code budget} with its {@link #estimateBytes estimate}.
     *
     * @throws ImageProbe.InvalidImageException unreadable, truncated or corrupt
     * @throws DecodeBudget.Exhausted           no budget within its wait
     */
    static BufferedImage read(byte[] bytes, IntBinaryOperator subsampling, DecodeBudget budget) {
        String format = ImageProbe.sniffFormat(bytes);
        String name = format == null ? "image" : format;
        if ("png".equals(format)) {
            checkPngChunks(bytes);
        } else if ("webp".equals(format)) {
            checkRiffChunks(bytes);
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
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                int s = Math.max(1, subsampling.applyAsInt(width, height));
                ImageReadParam param = reader.getDefaultReadParam();
                param.setSourceSubsampling(s, s, 0, 0);
                long estimate = estimateBytes(format, width, height, s, bytesPerPixel(reader),
                        "jpeg".equals(format) && progressiveJpeg(bytes));
                image = budget.run(estimate, () -> {
                    try {
                        return reader.read(0, param);
                    } catch (IOException e) {
                        throw new UncheckedIOException(e);
                    }
                });
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof ImageProbe.InvalidImageException || e instanceof DecodeBudget.Exhausted) {
                throw (RuntimeException) e;
            }
            String why = e instanceof UncheckedIOException u ? u.getCause().getMessage() : e.getMessage();
            throw new ImageProbe.InvalidImageException(name + " image does not decode: " + why);
        }
        for (String w : warnings) {
            if (meansMissingPixels(w)) {
                throw new ImageProbe.InvalidImageException(name + " image is truncated or corrupt: " + w);
            }
        }
        return image;
    }

    /**
     * The most memory, heap and native, one decode at subsampling {@code s} may hold: the subsampled raster, the
     * 8-bit RGB copies {@link ImageDecoder} makes of it (the int[] of {@code toRgb} and the two of {@code orient}),
     * and the decoder's own buffers. Those are two rows for PNG; for a baseline JPEG a band of MCU rows; for a
     * progressive JPEG libjpeg's coefficients of the whole image (2 bytes a sample, 3 components at most counted);
     * for WebP (decoded whole, then subsampled) the full frame twice.
     */
    static long estimateBytes(String format, int width, int height, int s, int bytesPerPixel, boolean progressive) {
        long full = (long) width * height;
        long kept = (long) ceilDiv(width, s) * ceilDiv(height, s);
        long working = switch (format == null ? "" : format) {
            case "png" -> 2L * width * bytesPerPixel + (1 << 16);
            case "jpeg" -> progressive ? full * 3 * 2 : (long) width * 16 * 3 * 2;
            case "webp" -> full * 4 * 2;
            default -> full * bytesPerPixel;
        };
        return kept * bytesPerPixel + kept * 4 * 3 + working;
    }

    /** Bytes per pixel of the raster the reader allocates: 8 for 16-bit RGBA PNG, 3 for an RGB JPEG, ... */
    private static int bytesPerPixel(ImageReader reader) throws IOException {
        ImageTypeSpecifier type = reader.getRawImageType(0);
        if (type == null) {
            Iterator<ImageTypeSpecifier> types = reader.getImageTypes(0);
            type = types.hasNext() ? types.next() : null;
        }
        if (type == null) {
            return 8;
        }
        SampleModel model = type.getSampleModel(1, 1);
        int bits = DataBuffer.getDataTypeSize(model.getDataType()) * model.getNumDataElements();
        return Math.max(1, (bits + 7) / 8);
    }

    /** Whether the first start-of-frame marker is a progressive one (SOF2, SOF6, SOF10, SOF14). */
    static boolean progressiveJpeg(byte[] b) {
        int pos = 2;
        while (pos + 4 <= b.length) {
            if ((b[pos] & 0xff) != 0xff) {
                return false;
            }
            int marker = b[pos + 1] & 0xff;
            if (marker == 0xff) {
                pos++;
                continue;
            }
            if (marker >= 0xc0 && marker <= 0xcf && marker != 0xc4 && marker != 0xc8 && marker != 0xcc) {
                return marker == 0xc2 || marker == 0xc6 || marker == 0xca || marker == 0xce;
            }
            if (marker == 0xd8 || marker == 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
                pos += 2;
                continue;
            }
            pos += 2 + (((b[pos + 2] & 0xff) << 8) | (b[pos + 3] & 0xff));
        }
        return false;
    }

    private static int ceilDiv(int a, int b) {
        return (a + b - 1) / b;
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

    /**
     * A WebP is a RIFF file: its header gives the length, and each chunk (VP8, VP8L, VP8X, ALPH, ...) must lie
     * inside it. TwelveMonkeys decodes a lossless WebP cut in half without a word.
     */
    private static void checkRiffChunks(byte[] bytes) {
        ByteBuffer b = ByteBuffer.wrap(bytes).order(ByteOrder.LITTLE_ENDIAN);
        long end = 8 + Integer.toUnsignedLong(b.getInt(4));
        if (end > bytes.length) {
            throw new ImageProbe.InvalidImageException("webp image is truncated: its RIFF header announces " + end
                    + " bytes, the file has " + bytes.length);
        }
        long pos = 12;
        while (pos + 8 <= end) {
            String type = new String(bytes, (int) pos, 4, StandardCharsets.ISO_8859_1);
            long size = Integer.toUnsignedLong(b.getInt((int) pos + 4));
            pos += 8 + size + (size & 1);
            if (pos > end + (size & 1)) {
                throw new ImageProbe.InvalidImageException("webp image is truncated: its " + type.trim()
                        + " chunk runs past the end of the file");
            }
        }
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
