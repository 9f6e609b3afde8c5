package dev.selectune.diffusion.schedulers;

/** The few numpy routines whose exact float64 arithmetic the schedulers' timesteps and sigmas depend on. */
final class Numpy {
    private Numpy() {
    }

    /** np.linspace(start, stop, num) with endpoint: arange(num) * step + start, the last value set to stop. */
    static double[] linspace(double start, double stop, int num) {
        double[] out = new double[num];
        if (num == 1) {
            out[0] = start;
            return out;
        }
        double step = (stop - start) / (num - 1);
        for (int i = 0; i < num; i++) {
            out[i] = i * step + start;
        }
        out[num - 1] = stop;
        return out;
    }

    /** {@code array.astype(np.float32)} for integer timesteps. */
    static float[] asFloat32(long[] values) {
        float[] out = new float[values.length];
        for (int i = 0; i < out.length; i++) {
            out[i] = values[i];
        }
        return out;
    }

    /** np.interp(x, arange(len(fp)), fp): linear interpolation on integer abscissae, clamped at both ends. */
    static double interp(double x, float[] fp) {
        int last = fp.length - 1;
        if (x <= 0) {
            return fp[0];
        }
        if (x >= last) {
            return fp[last];
        }
        int j = (int) Math.floor(x);
        if (j == x) {
            return fp[j];
        }
        // numpy's slope is (fp[j+1] - fp[j]) / (xp[j+1] - xp[j]); the abscissae here are 1 apart.
        double slope = (double) fp[j + 1] - fp[j];
        return slope * (x - j) + fp[j];
    }
}
