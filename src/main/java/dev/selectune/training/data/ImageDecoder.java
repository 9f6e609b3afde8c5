package dev.selectune.training.data;

import javax.imageio.ImageIO;
import java.awt.Graphics2D;
import java.awt.image.BufferedImage;

/**
 * Decodes an uploaded image (JPEG, PNG, WebP and whatever else ImageIO's plugins read; the twelvemonkeys plugins on
 * the classpath add WebP and CMYK/odd JPEGs) into upright 8-bit RGB, applying the EXIF orientation of JPEGs.
 * Errors are IllegalArgumentExceptions naming the image's index in the job.
 */
public final class ImageDecoder {
    static {
        ImageIO.scanForPlugins();
        ImageIO.setUseCache(false);
    }

    private ImageDecoder() {
    }

    /** The whole image, at full resolution. */
    public static BufferedImage decode(byte[] bytes, int index) {
        return decode(bytes, index, 0);
    }

    /**
     * The image with only every s-th pixel kept, s the largest integer that leaves the short side at least twice
     * {@code needSide} (the size training resamples it to, by area averaging, afterwards): a 6000 x 4000 photo for
     * 512 px training decodes as 2000 x 1333, 11 MB of RGB instead of 96 MB. {@code needSide} 0 keeps every pixel.
     */
    public static BufferedImage decode(byte[] bytes, int index, int needSide) {
        if (bytes == null || bytes.length == 0) {
            throw new IllegalArgumentException("images[" + index + "]: empty file");
        }
        BufferedImage raw;
        try {
            raw = CompleteDecode.read(bytes, (w, h) -> needSide <= 0 ? 1 : Math.min(w, h) / (2 * needSide),
                    DecodeBudget.unlimited());
        } catch (ImageProbe.InvalidImageException e) {
            throw new IllegalArgumentException("images[" + index + "]: " + e.getMessage(), e);
        }
        return orient(toRgb(raw), ExifOrientation.read(bytes));
    }

    private static BufferedImage toRgb(BufferedImage img) {
        if (img.getType() == BufferedImage.TYPE_INT_RGB) {
            return img;
        }
        // Transparent pixels become white, as PIL's convert("RGB") after compositing on white would show them.
        BufferedImage rgb = new BufferedImage(img.getWidth(), img.getHeight(), BufferedImage.TYPE_INT_RGB);
        Graphics2D g = rgb.createGraphics();
        g.setColor(java.awt.Color.WHITE);
        g.fillRect(0, 0, img.getWidth(), img.getHeight());
        g.drawImage(img, 0, 0, null);
        g.dispose();
        return rgb;
    }

    /**
     * Applies EXIF orientation 1..8 pixel by pixel: out(x, y) = in(source of x, y). 2 mirrors, 3 turns 180 degrees,
     * 4 flips vertically, 5 transposes, 6 turns 90 degrees clockwise, 7 transverses, 8 turns 90 degrees
     * counter-clockwise (5..8 swap width and height).
     */
    static BufferedImage orient(BufferedImage img, int orientation) {
        if (orientation < 2 || orientation > 8) {
            return img;
        }
        int w = img.getWidth();
        int h = img.getHeight();
        boolean swap = orientation >= 5;
        int ow = swap ? h : w;
        int oh = swap ? w : h;
        int[] in = img.getRGB(0, 0, w, h, null, 0, w);
        int[] out = new int[in.length];
        for (int y = 0; y < oh; y++) {
            for (int x = 0; x < ow; x++) {
                int sx;
                int sy;
                switch (orientation) {
                    case 2 -> { sx = w - 1 - x; sy = y; }
                    case 3 -> { sx = w - 1 - x; sy = h - 1 - y; }
                    case 4 -> { sx = x; sy = h - 1 - y; }
                    case 5 -> { sx = y; sy = x; }
                    case 6 -> { sx = y; sy = h - 1 - x; }
                    case 7 -> { sx = w - 1 - y; sy = h - 1 - x; }
                    default -> { sx = w - 1 - y; sy = x; }
                }
                out[y * ow + x] = in[sy * w + sx];
            }
        }
        BufferedImage result = new BufferedImage(ow, oh, BufferedImage.TYPE_INT_RGB);
        result.setRGB(0, 0, ow, oh, out, 0, ow);
        return result;
    }
}
