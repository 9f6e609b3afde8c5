package dev.selectune.training.optim;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.NDScope;
import dev.selectune.diffusion.nn.Autograd;

import java.util.ArrayList;
import java.util.List;

/**
 * AdamW (Loshchilov and Hutter) on NDArrays, computing exactly what {@code torch.optim.AdamW} (foreach off)
 * computes, so a LoRA trained here follows diffusers' DreamBooth-LoRA script step for step:
 * <pre>
 *   p *= 1 - lr * weight_decay                       (decoupled decay, before the moments)
 *   m  = beta1 m + (1 - beta1) g
 *   v  = beta2 v + (1 - beta2) g^2
 *   p -= lr / (1 - beta1^s) * m / (sqrt(v) / sqrt(1 - beta2^s) + eps)
 * </pre>
 * The parameters are the FP32 masters; m and v live in {@code stateManager} (the trainer's manager) and survive
 * steps. Every update happens in place with gradient recording off, since in-place ops on a leaf that requires
 * a gradient would throw.
 */
public final class AdamW {
    private final List<NDArray> params;
    private final List<NDArray> m = new ArrayList<>();
    private final List<NDArray> v = new ArrayList<>();
    private final double lr;
    private final double beta1;
    private final double beta2;
    private final double eps;
    private final double weightDecay;
    private int stepCount;

    public AdamW(List<NDArray> params, NDManager stateManager, double lr, double beta1, double beta2, double eps,
                 double weightDecay) {
        this.params = List.copyOf(params);
        this.lr = lr;
        this.beta1 = beta1;
        this.beta2 = beta2;
        this.eps = eps;
        this.weightDecay = weightDecay;
        for (NDArray p : params) {
            m.add(stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
            v.add(stateManager.zeros(p.getShape(), p.getDataType(), p.getDevice()));
        }
    }

    /** Applies one update with {@code grads} (same order and shapes as the parameters). */
    public void step(List<NDArray> grads) {
        if (grads.size() != params.size()) {
            throw new IllegalArgumentException("AdamW: " + grads.size() + " gradients for " + params.size() + " parameters");
        }
        stepCount++;
        double bias1 = 1 - Math.pow(beta1, stepCount);
        double sqrtBias2 = Math.sqrt(1 - Math.pow(beta2, stepCount));
        float stepSize = (float) (lr / bias1);
        Autograd.noGrad(() -> {
            for (int i = 0; i < params.size(); i++) {
                NDArray p = params.get(i);
                NDArray g = grads.get(i);
                try (NDScope scope = new NDScope()) {
                    scope.suppressNotUsedWarning();
                    if (weightDecay != 0) {
                        p.muli((float) (1 - lr * weightDecay));
                    }
                    m.get(i).muli((float) beta1).addi(g.mul((float) (1 - beta1)));
                    v.get(i).muli((float) beta2).addi(g.mul(g).muli((float) (1 - beta2)));
                    NDArray denom = v.get(i).sqrt().divi((float) sqrtBias2).addi((float) eps);
                    p.subi(m.get(i).div(denom).muli(stepSize));
                }
            }
        });
    }

    /** Steps taken so far (the s of the bias corrections). */
    public int stepCount() {
        return stepCount;
    }

    public List<NDArray> firstMoments() {
        return m;
    }

    public List<NDArray> secondMoments() {
        return v;
    }

    /** Restores the state a checkpoint saved: moments (same order as the parameters) and the step count. */
    public void restore(int steps, List<float[]> firstMoments, List<float[]> secondMoments) {
        if (firstMoments.size() != m.size() || secondMoments.size() != v.size()) {
            throw new IllegalArgumentException("AdamW state for " + firstMoments.size() + " parameters, optimizer has "
                    + m.size());
        }
        Autograd.noGrad(() -> {
            for (int i = 0; i < m.size(); i++) {
                copyInto(m.get(i), firstMoments.get(i), "exp_avg[" + i + "]");
                copyInto(v.get(i), secondMoments.get(i), "exp_avg_sq[" + i + "]");
            }
        });
        this.stepCount = steps;
    }

    static void copyInto(NDArray target, float[] values, String what) {
        if (values.length != target.size()) {
            throw new IllegalArgumentException(what + ": " + values.length + " values for a tensor of shape " + target.getShape());
        }
        target.set(values);
    }
}
