package dev.selectune.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Autograd;

import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.function.DoubleSupplier;
import java.util.function.LongSupplier;

/**
 * MeZO (Malladi et al. 2023) with the paper's accumulation over N perturbations (Sec. 2.3, Eq. 2):
 * <pre>
 *   for n in 1..N:  seed_n from the job's generator
 *                   theta += eps z_n; L+ = L(theta)
 *                   theta -= 2 eps z_n; L- = L(theta)
 *                   theta += eps z_n                        (back where it started)
 *                   g_n = (L+ - L-) / (2 eps)
 *   theta -= alpha / N * sum_n g_n z_n                      (each z_n regenerated from seed_n)
 * </pre>
 * z is never stored: it is drawn again from a {@link SplittableRandom} seeded with seed_n, parameter by parameter in
 * a fixed order, so the extra memory is one parameter's worth of noise at a time (a LoRA matrix, a few KiB), and
 * a job's generator is its own (concurrent jobs never share torch's global RNG). Everything runs with gradient
 * recording off. The loss callback must use the same noise and timestep for both evaluations; the trainer's does.
 * Cost: 2N forwards and no backward.
 */
public final class MeZO {
    private final double epsilon;
    private final double learningRate;
    private final int perturbations;

    public MeZO(double epsilon, double learningRate, int perturbations) {
        if (!(epsilon > 0) || !(learningRate > 0) || perturbations < 1) {
            throw new IllegalArgumentException("MeZO needs epsilon > 0, learning rate > 0 and N >= 1, got " + epsilon
                    + ", " + learningRate + ", " + perturbations);
        }
        this.epsilon = epsilon;
        this.learningRate = learningRate;
        this.perturbations = perturbations;
    }

    /** What one MeZO step measured. {@code loss} is the mean of every L+ and L-. */
    public record Result(double loss, double[] projectedGradients, long[] seeds, int forwards) {
    }

    /**
     * One step on {@code params} (the FP32 masters, updated in place).
     *
     * @param seeds     the job's generator: one seed per perturbation
     * @param loss      evaluates the loss at the current parameters (gradient mode is off)
     * @param afterEdit called after every in-place change (FP16 working copies re-synced from the masters)
     */
    public Result step(List<NDArray> params, LongSupplier seeds, DoubleSupplier loss, Runnable afterEdit) {
        long[] seedList = new long[perturbations];
        double[] g = new double[perturbations];
        double lossSum = 0;
        for (int n = 0; n < perturbations; n++) {
            long seed = seeds.getAsLong();
            seedList[n] = seed;
            perturb(params, seed, epsilon, afterEdit);
            double plus = evaluate(loss);
            perturb(params, seed, -2 * epsilon, afterEdit);
            double minus = evaluate(loss);
            perturb(params, seed, epsilon, afterEdit);
            g[n] = (plus - minus) / (2 * epsilon);
            lossSum += plus + minus;
        }
        for (int n = 0; n < perturbations; n++) {
            perturb(params, seedList[n], -learningRate / perturbations * g[n], afterEdit);
        }
        return new Result(lossSum / (2 * perturbations), g, seedList, 2 * perturbations);
    }

    private static double evaluate(DoubleSupplier loss) {
        return Autograd.noGrad(() -> loss.getAsDouble());
    }

    /**
     * theta += scale * z(seed), in place, z regenerated parameter by parameter into one reused native buffer: the
     * tensor made from it aliases the buffer, so a step leaves no per-parameter direct buffers behind for the GC
     * (they would sit in the resident set until a collection).
     */
    public static void perturb(List<NDArray> params, long seed, double scale, Runnable afterEdit) {
        SplittableRandom random = new SplittableRandom(seed);
        long largest = params.stream().mapToLong(NDArray::size).max().orElse(0);
        ByteBuffer buffer = ByteBuffer.allocateDirect(Math.toIntExact(largest * Float.BYTES))
                .order(ByteOrder.nativeOrder());
        Autograd.noGrad(() -> {
            for (NDArray p : params) {
                if (p.getDataType() != DataType.FLOAT32) {
                    throw new IllegalStateException("MeZO perturbs FP32 masters, got " + p.getDataType());
                }
                int n = Math.toIntExact(p.size());
                buffer.clear();
                for (int i = 0; i < n; i++) {
                    buffer.putFloat((float) random.nextGaussian());
                }
                buffer.flip();
                // A scratch manager on the parameter's device: z exists only for this one update.
                try (NDManager scratch = p.getManager().newSubManager(p.getDevice())) {
                    p.addi(scratch.create(buffer, p.getShape(), DataType.FLOAT32).muli((float) scale));
                }
            }
        });
        afterEdit.run();
    }
}
