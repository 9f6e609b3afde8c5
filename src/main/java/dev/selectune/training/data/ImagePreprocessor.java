package dev.selectune.training.data;

import java.awt.image.BufferedImage;

/**
 * Turns a decoded image into the UNet's training input: the central square, resampled to {@code size} x
 * {@code size}, as CHW floats in [-1, 1] (diffusers' DreamBooth: Resize + CenterCrop + Normalize([0.5], [0.5])).
 *
 * <p>Shrinking averages the exact area each output pixel covers (a box filter with fractional edge weights), so
 * a 3000 px photo brought to 256 px does not alias; enlarging interpolates bilinearly (half-pixel centres, as
 * torch's {@code align_corners=False}). Both are separable: rows first, then columns.
 */
public final class ImagePreprocessor {
    private ImagePreprocessor() {
    }

    /** CHW floats (3 * size * size) in [-1, 1], optionally mirrored left to right. */
    public static float[] centerCropResize(BufferedImage img, int size, boolean flip) {
        int w = img.getWidth();
        int h = img.getHeight();
        int side = Math.min(w, h);
        int x0 = (w - side) / 2;
        int y0 = (h - side) / 2;
        int[] argb = img.getRGB(x0, y0, side, side, null, 0, side);
        float[][] planes = new float[3][side * side];
        for (int i = 0; i < argb.length; i++) {
            planes[0][i] = (argb[i] >> 16) & 0xff;
            planes[1][i] = (argb[i] >> 8) & 0xff;
            planes[2][i] = argb[i] & 0xff;
        }
        float[] out = new float[3 * size * size];
        Axis axis = Axis.of(side, size);
        for (int c = 0; c < 3; c++) {
            float[] resized = resample(planes[c], side, axis, size);
            for (int y = 0; y < size; y++) {
                for (int x = 0; x < size; x++) {
                    int sx = flip ? size - 1 - x : x;
                    out[c * size * size + y * size + x] = resized[y * size + sx] / 127.5f - 1f;
                }
            }
        }
        return out;
    }

    /** Resamples a square plane of side {@code n} to side {@code m} with the same weights along both axes. */
    private static float[] resample(float[] plane, int n, Axis axis, int m) {
        float[] rows = new float[n * m]; // n rows, m columns
        for (int y = 0; y < n; y++) {
            for (int x = 0; x < m; x++) {
                rows[y * m + x] = axis.apply(plane, y * n, 1, x);
            }
        }
        float[] out = new float[m * m];
        for (int y = 0; y < m; y++) {
            for (int x = 0; x < m; x++) {
                out[y * m + x] = axis.apply(rows, x, m, y);
            }
        }
        return out;
    }

    /** For each output index along one axis: the first source index and the weights of the sources it reads. */
    private record Axis(int[] first, float[][] weights) {
        static Axis of(int n, int m) {
            int[] first = new int[m];
            float[][] weights = new float[m][];
            double scale = (double) n / m;
            for (int o = 0; o < m; o++) {
                if (m <= n) {
                    // Area average over [o * scale, (o + 1) * scale).
                    double lo = o * scale;
                    double hi = (o + 1) * scale;
                    int a = (int) Math.floor(lo);
                    int b = Math.min(n, (int) Math.ceil(hi));
                    float[] w = new float[b - a];
                    for (int s = a; s < b; s++) {
                        w[s - a] = (float) ((Math.min(hi, s + 1) - Math.max(lo, s)) / scale);
                    }
                    first[o] = a;
                    weights[o] = w;
                } else {
                    double centre = (o + 0.5) * scale - 0.5;
                    int a = (int) Math.floor(centre);
                    double frac = centre - a;
                    int lo = Math.max(0, Math.min(n - 1, a));
                    int hi = Math.max(0, Math.min(n - 1, a + 1));
                    first[o] = lo;
                    weights[o] = hi == lo ? new float[] {1f} : new float[] {(float) (1 - frac), (float) frac};
                }
            }
            return new Axis(first, weights);
        }

        /** sum_k w[o][k] * src[base + (first[o] + k) * stride]. */
        float apply(float[] src, int base, int stride, int o) {
            float[] w = weights[o];
            int s = first[o];
            float acc = 0;
            for (int k = 0; k < w.length; k++) {
                acc += w[k] * src[base + (s + k) * stride];
            }
            return acc;
        }
    }
}
