package dev.selectune.evaluation.image;

/**
 * Pillow's {@code Image.resize} for 8-bit RGB with the BICUBIC and BILINEAR filters, bit for bit (Pillow 9.4's
 * {@code libImaging/Resample.c}): the reference image processors of transformers resize with it, and a resampler
 * that does not widen its kernel when shrinking (java.awt, torch without antialias) lands far from it.
 *
 * <p>Separable: the horizontal pass runs first and stores uint8, then the vertical pass reads that; an axis whose
 * length does not change is skipped. Weights are computed in double, normalised by their sum, and applied in 22-bit
 * fixed point with rounding, as Pillow's {@code normalize_coeffs_8bpc} and {@code clip8}.
 */
public final class PillowResize {
    private static final int PRECISION_BITS = 32 - 8 - 2;

    /** Pillow's filter numbers, as {@code resample} in a preprocessor_config.json. */
    public enum Filter {
        BILINEAR(2, 1.0), BICUBIC(3, 2.0);

        final int pillowId;
        final double support;

        Filter(int pillowId, double support) {
            this.pillowId = pillowId;
            this.support = support;
        }

        /** The filter for a Pillow resample number, or null when it is not one implemented here. */
        public static Filter ofPillowId(int id) {
            for (Filter f : values()) {
                if (f.pillowId == id) {
                    return f;
                }
            }
            return null;
        }

        double kernel(double x) {
            if (x < 0) {
                x = -x;
            }
            if (this == BILINEAR) {
                return x < 1.0 ? 1.0 - x : 0.0;
            }
            final double a = -0.5;
            if (x < 1.0) {
                return ((a + 2.0) * x - (a + 3.0)) * x * x + 1;
            }
            if (x < 2.0) {
                return (((x - 5) * x + 8) * x - 4) * a;
            }
            return 0.0;
        }
    }

    private PillowResize() {
    }

    public static Rgb8Image resize(Rgb8Image in, int width, int height, Filter filter) {
        if (width < 1 || height < 1) {
            throw new IllegalArgumentException("cannot resize to " + width + "x" + height);
        }
        Rgb8Image out = in;
        if (width != in.width()) {
            out = horizontal(out, width, filter);
        }
        if (height != in.height()) {
            out = vertical(out, height, filter);
        }
        return out;
    }

    private static Rgb8Image horizontal(Rgb8Image in, int outWidth, Filter filter) {
        Coefficients c = Coefficients.of(in.width(), outWidth, filter);
        byte[] src = in.pixels();
        byte[] dst = new byte[outWidth * in.height() * 3];
        for (int y = 0; y < in.height(); y++) {
            int row = y * in.width() * 3;
            for (int x = 0; x < outWidth; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    long acc = 1L << (PRECISION_BITS - 1);
                    for (int j = 0; j < c.count[x]; j++) {
                        acc += (long) c.k[x][j] * (src[row + (c.min[x] + j) * 3 + ch] & 0xff);
                    }
                    dst[(y * outWidth + x) * 3 + ch] = clip8(acc);
                }
            }
        }
        return new Rgb8Image(outWidth, in.height(), dst);
    }

    private static Rgb8Image vertical(Rgb8Image in, int outHeight, Filter filter) {
        Coefficients c = Coefficients.of(in.height(), outHeight, filter);
        byte[] src = in.pixels();
        int w = in.width();
        byte[] dst = new byte[w * outHeight * 3];
        for (int y = 0; y < outHeight; y++) {
            for (int x = 0; x < w; x++) {
                for (int ch = 0; ch < 3; ch++) {
                    long acc = 1L << (PRECISION_BITS - 1);
                    for (int j = 0; j < c.count[y]; j++) {
                        acc += (long) c.k[y][j] * (src[((c.min[y] + j) * w + x) * 3 + ch] & 0xff);
                    }
                    dst[(y * w + x) * 3 + ch] = clip8(acc);
                }
            }
        }
        return new Rgb8Image(w, outHeight, dst);
    }

    private static byte clip8(long acc) {
        if (acc <= 0) {
            return 0;
        }
        if (acc >= (255L << PRECISION_BITS)) {
            return (byte) 255;
        }
        return (byte) (acc >> PRECISION_BITS);
    }

    /** Pillow's {@code precompute_coeffs} followed by {@code normalize_coeffs_8bpc}, for one axis. */
    private record Coefficients(int[] min, int[] count, int[][] k) {

        static Coefficients of(int inSize, int outSize, Filter filter) {
            double scale = (double) inSize / outSize;
            double filterScale = Math.max(scale, 1.0);
            double support = filter.support * filterScale;
            double ss = 1.0 / filterScale;
            int[] min = new int[outSize];
            int[] count = new int[outSize];
            int[][] k = new int[outSize][];
            for (int i = 0; i < outSize; i++) {
                double center = (i + 0.5) * scale;
                int xmin = Math.max(0, (int) (center - support + 0.5));
                int xmax = Math.min(inSize, (int) (center + support + 0.5)) - xmin;
                double[] w = new double[Math.max(0, xmax)];
                double sum = 0;
                for (int x = 0; x < w.length; x++) {
                    w[x] = filter.kernel((x + xmin - center + 0.5) * ss);
                    sum += w[x];
                }
                k[i] = new int[w.length];
                for (int x = 0; x < w.length; x++) {
                    double v = sum != 0 ? w[x] / sum : w[x];
                    k[i][x] = (int) (v < 0 ? -0.5 + v * (1 << PRECISION_BITS) : 0.5 + v * (1 << PRECISION_BITS));
                }
                min[i] = xmin;
                count[i] = w.length;
            }
            return new Coefficients(min, count, k);
        }
    }
}
