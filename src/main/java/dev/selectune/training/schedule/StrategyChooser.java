package dev.selectune.training.schedule;


/**
 * Picks BP-low or ZO-high for a step from its timestep t and progress i, as the paper's Sec. 2.4 says.
 *
 * <p>p is the probability of ZO-high (Eq. 3 and 5; Algorithm 1 labels its two branches the other way round, the
 * text and the equations are what we follow): ZO-high becomes likely at high timesteps, where BP-low's resolution
 * mismatch distorts structure, and, under DTAP, more likely as training progresses, once BP-low has injected
 * enough of the subject for MeZO's estimates to be useful.
 * <ul>
 *   <li>TAP: p = sigmoid(k (t - t_mid))</li>
 *   <li>DTAP: p = sigmoid(k (t - t_dyn(i))), t_dyn(i) = t_max + (i / i_max) (t_end - t_max), t_end = 2 t_mid - t_max,
 *       so t_dyn moves from t_max to t_end and crosses t_mid at half way</li>
 *   <li>reversed: DTAP with -k; random: p = 1/2; bp_low, bp_high: p = 0; zo_high: p = 1</li>
 * </ul>
 * The progress i is the number of steps already taken (0 for the first step), so the first step sees
 * t_dyn = t_max exactly as Eq. 4 starts.
 */
public final class StrategyChooser {
    private final Schedule schedule;
    private final double k;
    private final double tMid;
    private final double tMax;
    private final int totalSteps;

    public StrategyChooser(Schedule schedule, double k, double tMid, double tMax, int totalSteps) {
        if (totalSteps < 1) {
            throw new IllegalArgumentException("steps: must be >= 1, got " + totalSteps);
        }
        this.schedule = schedule;
        this.k = k;
        this.tMid = tMid;
        this.tMax = tMax;
        this.totalSteps = totalSteps;
    }

    /** The probability of ZO-high for the step with progress {@code i} (0-based) at timestep {@code t}. */
    public double pZo(int i, double t) {
        return switch (schedule) {
            case BP_HIGH, BP_LOW -> 0;
            case ZO_HIGH -> 1;
            case RANDOM -> 0.5;
            case TAP -> sigmoid(k * (t - tMid));
            case DTAP -> sigmoid(k * (t - tDyn(i)));
            case REVERSED -> sigmoid(-k * (t - tDyn(i)));
        };
    }

    /** Eq. 4: the DTAP midpoint after {@code i} of {@code i_max} steps. */
    public double tDyn(int i) {
        double tEnd = 2 * tMid - tMax;
        return tMax + ((double) i / totalSteps) * (tEnd - tMax);
    }

    /**
     * The strategy for a step, given a uniform draw {@code u} in [0, 1) from the job's generator: ZO-high when
     * u < p. BP-high only under its own schedule, which is the full-resolution baseline.
     */
    public Strategy choose(double pZo, double u) {
        if (schedule == Schedule.BP_HIGH) {
            return Strategy.BP_HIGH;
        }
        return u < pZo ? Strategy.ZO_HIGH : Strategy.BP_LOW;
    }

    public Schedule schedule() {
        return schedule;
    }

    private static double sigmoid(double x) {
        // Written so that neither branch overflows for |x| large (k t can reach 50 or more).
        if (x >= 0) {
            return 1 / (1 + Math.exp(-x));
        }
        double e = Math.exp(x);
        return e / (1 + e);
    }
}
