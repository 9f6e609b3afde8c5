package dev.selectune.evaluation.image;

import java.awt.image.BufferedImage;

/**
 * An 8-bit RGB image as Pillow holds it after {@code convert("RGB")}: {@code height x width x 3} bytes, row-major,
 * channels interleaved (the layout of the golden {@code resized_uint8} entries).
 */
public record Rgb8Image(int width, int height, byte[] pixels) {

    public Rgb8Image {
        if (width < 1 || height < 1 || pixels.length != width * height * 3) {
            throw new IllegalArgumentException("image of " + width + "x" + height + " needs " + (width * height * 3)
                    + " bytes, got " + pixels.length);
        }
    }

    public static Rgb8Image of(BufferedImage image) {
        int w = image.getWidth();
        int h = image.getHeight();
        int[] argb = image.getRGB(0, 0, w, h, null, 0, w);
        byte[] out = new byte[w * h * 3];
        for (int i = 0; i < argb.length; i++) {
            out[3 * i] = (byte) (argb[i] >> 16);
            out[3 * i + 1] = (byte) (argb[i] >> 8);
            out[3 * i + 2] = (byte) argb[i];
        }
        return new Rgb8Image(w, h, out);
    }

    /** Channel {@code c} of pixel (x, y), 0..255. */
    public int at(int x, int y, int c) {
        return pixels[(y * width + x) * 3 + c] & 0xff;
    }

    /** The {@code w x h} region whose top-left corner is (left, top); it must lie inside the image. */
    public Rgb8Image crop(int left, int top, int w, int h) {
        if (left < 0 || top < 0 || left + w > width || top + h > height) {
            throw new IllegalArgumentException("crop " + w + "x" + h + " at (" + left + ", " + top + ") does not fit in a "
                    + width + "x" + height + " image");
        }
        byte[] out = new byte[w * h * 3];
        for (int y = 0; y < h; y++) {
            System.arraycopy(pixels, ((top + y) * width + left) * 3, out, y * w * 3, w * 3);
        }
        return new Rgb8Image(w, h, out);
    }
}
