package dev.selectune.training.optim;

import ai.djl.ndarray.NDArray;
import dev.selectune.diffusion.nn.Autograd;

import java.util.List;

/** {@code torch.nn.utils.clip_grad_norm_}: scales all gradients together so their global L2 norm is at most max. */
public final class GradientClipping {
    private GradientClipping() {
    }

    /**
     * Clips in place and returns the norm before clipping. {@code maxNorm <= 0} only measures. The per-tensor
     * norms are summed in Java doubles in a fixed order, so the result is the same on every run.
     */
    public static double clipByGlobalNorm(List<NDArray> grads, double maxNorm) {
        double sumSquares = 0;
        for (NDArray g : grads) {
            try (NDArray sq = g.square(); NDArray s = sq.sum()) {
                sumSquares += s.getFloat();
            }
        }
        double norm = Math.sqrt(sumSquares);
        if (maxNorm > 0) {
            double coefficient = maxNorm / (norm + 1e-6);
            if (coefficient < 1) {
                Autograd.noGrad(() -> grads.forEach(g -> g.muli((float) coefficient)));
            }
        }
        return norm;
    }
}
