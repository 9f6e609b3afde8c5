package dev.selectune.training.data;

/**
 * The two training resolutions of a job. Both must be multiples of what the model accepts: the VAE divides by its
 * scale factor and the UNet halves the latent (levels - 1) times, so a side must be a multiple of
 * vaeScaleFactor * 2^(levels - 1) pixels (64 for SD 1.5, 4 for the tiny test pipelines).
 *
 * @param high     the full resolution (the job's, or the model's native one)
 * @param low      ratio r of it, rounded to the nearest accepted multiple (never below one multiple)
 * @param multiple the side granularity the model accepts
 */
public record Resolutions(int high, int low, int multiple) {

    /**
     * @param resolution  the job's full resolution in pixels, or null for the model's native one
     * @param resizeRatio r, the low resolution's share of the full one
     */
    public static Resolutions of(Integer resolution, double resizeRatio, int nativeResolution, int vaeScaleFactor,
                                 int unetLevels) {
        int multiple = vaeScaleFactor << (unetLevels - 1);
        int high = resolution != null ? resolution : nativeResolution;
        if (high % multiple != 0) {
            throw new IllegalArgumentException("resolution: " + high + " px is not a multiple of " + multiple
                    + " px, which this model needs (VAE scale factor " + vaeScaleFactor + " x 2^" + (unetLevels - 1)
                    + " UNet downsamplings)");
        }
        long rounded = Math.round(high * resizeRatio / multiple) * multiple;
        int low = (int) Math.max(multiple, rounded);
        return new Resolutions(high, low, multiple);
    }
}
