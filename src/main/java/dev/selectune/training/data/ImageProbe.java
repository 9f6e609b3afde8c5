package dev.selectune.training.data;

import javax.imageio.ImageIO;
import javax.imageio.ImageReader;
import javax.imageio.stream.ImageInputStream;
import javax.imageio.stream.MemoryCacheImageInputStream;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.util.Iterator;

/**
 * Looks at an uploaded image by its content, never its name: the format from the magic bytes, the size from the
 * header through an ImageIO reader WITHOUT decoding pixels (so a 50000 x 50000 "decompression bomb" is refused
 * before it can allocate gigabytes), and only then a full decode to prove the file is whole.
 */
public final class ImageProbe {

    /** What the header says. {@code format} is {@code png}, {@code jpeg} or {@code webp}. */
    public record Info(String format, String contentType, int width, int height) {
    }

    /** The upload is not an acceptable image; the message says why, in words fit for an API client. */
    public static final class InvalidImageException extends RuntimeException {
        public InvalidImageException(String message) {
            super(message);
        }
    }

    /** The longest side kept by the completeness check's decode. */
    static final int CHECK_SIDE = 1024;

    private ImageProbe() {
    }

    /** The format by magic bytes, or null when it is none of PNG, JPEG, WebP. */
    public static String sniffFormat(byte[] b) {
        if (b.length >= 8 && (b[0] & 0xff) == 0x89 && b[1] == 'P' && b[2] == 'N' && b[3] == 'G'
                && b[4] == 0x0d && b[5] == 0x0a && b[6] == 0x1a && b[7] == 0x0a) {
            return "png";
        }
        if (b.length >= 3 && (b[0] & 0xff) == 0xff && (b[1] & 0xff) == 0xd8 && (b[2] & 0xff) == 0xff) {
            return "jpeg";
        }
        if (b.length >= 12 && b[0] == 'R' && b[1] == 'I' && b[2] == 'F' && b[3] == 'F'
                && b[8] == 'W' && b[9] == 'E' && b[10] == 'B' && b[11] == 'P') {
            return "webp";
        }
        return null;
    }

    /** {@link #probe(byte[], int, long)} with no pixel limit. */
    public static Info probe(byte[] bytes, int maxSide) {
        return probe(bytes, maxSide, Long.MAX_VALUE);
    }

    /**
     * Reads the format and dimensions from the header only.
     *
     * @throws InvalidImageException not PNG/JPEG/WebP by content, an unreadable header, a side above {@code maxSide}
     *                               or more than {@code maxPixels} pixels
     */
    public static Info probe(byte[] bytes, int maxSide, long maxPixels) {
        String format = sniffFormat(bytes);
        if (format == null) {
            throw new InvalidImageException("not a PNG, JPEG or WebP image (judged by its content)");
        }
        try (ImageInputStream in = new MemoryCacheImageInputStream(new ByteArrayInputStream(bytes))) {
            ImageReader reader = readerFor(in, format);
            try {
                reader.setInput(in, true, true);
                int width = reader.getWidth(0);
                int height = reader.getHeight(0);
                if (width <= 0 || height <= 0) {
                    throw new InvalidImageException(format + " header gives an empty size " + width + "x" + height);
                }
                if (width > maxSide || height > maxSide) {
                    throw new InvalidImageException(format + " image is " + width + "x" + height + " px; at most "
                            + maxSide + " px a side is accepted");
                }
                if ((long) width * height > maxPixels) {
                    throw new InvalidImageException(format + " image is " + width + "x" + height + " px = "
                            + (long) width * height + " pixels; at most " + maxPixels + " pixels are accepted");
                }
                return new Info(format, contentType(format), width, height);
            } finally {
                reader.dispose();
            }
        } catch (IOException | RuntimeException e) {
            if (e instanceof InvalidImageException invalid) {
                throw invalid;
            }
            throw new InvalidImageException(format + " header is unreadable: " + e.getMessage());
        }
    }

    /** {@link #probeAndDecode(byte[], int, long, DecodeBudget)} with no pixel limit and no shared budget. */
    public static Info probeAndDecode(byte[] bytes, int maxSide) {
        return probeAndDecode(bytes, maxSide, Long.MAX_VALUE, DecodeBudget.unlimited());
    }

    /**
     * Probes, then decodes every byte of pixel data once, so that a truncated or corrupt file fails here rather than
     * in a worker. Only every s-th pixel is kept (at most {@value #CHECK_SIDE} px a side), so the check holds a
     * few MB whatever the image, within {@code budget}.
     *
     * @throws DecodeBudget.Exhausted when {@code budget} had no room within its wait
     */
    public static Info probeAndDecode(byte[] bytes, int maxSide, long maxPixels, DecodeBudget budget) {
        Info info = probe(bytes, maxSide, maxPixels);
        CompleteDecode.read(bytes, (w, h) -> (Math.max(w, h) + CHECK_SIDE - 1) / CHECK_SIDE, budget);
        return info;
    }

    private static ImageReader readerFor(ImageInputStream in, String format) {
        Iterator<ImageReader> readers = ImageIO.getImageReaders(in);
        if (!readers.hasNext()) {
            throw new InvalidImageException("no decoder for this " + format + " file");
        }
        return readers.next();
    }

    private static String contentType(String format) {
        return switch (format) {
            case "png" -> "image/png";
            case "jpeg" -> "image/jpeg";
            default -> "image/webp";
        };
    }
}
