package dev.selectune.training.schedule;

import java.util.Locale;

/**
 * How each step chooses its optimizer: the rows of the paper's ablation.
 * Wire names (JSON, CLI) are the lower-case constant names: {@code dtap}, {@code tap}, ...
 */
public enum Schedule {
    /** Dynamic timestep-aware probability (Eq. 4-5): the paper's method and the default. */
    DTAP("the paper's method: ZO-high grows likelier at high timesteps and as training goes on"),
    /** Timestep-aware probability with a fixed midpoint (Eq. 3). */
    TAP("ZO-high likelier at high timesteps, with a fixed midpoint t_mid"),
    /** Backprop at full resolution every step: the memory-hungry baseline. */
    BP_HIGH("backprop at full resolution every step: the memory-hungry baseline"),
    /** Backprop at the low resolution every step. */
    BP_LOW("backprop at the low resolution every step: least memory, loses detail"),
    /** MeZO at full resolution every step. */
    ZO_HIGH("MeZO at full resolution every step: no backprop, slow to learn"),
    /** BP-low or ZO-high with probability 0.5 each. */
    RANDOM("BP-low or ZO-high with probability 1/2 each (ablation)"),
    /** DTAP with the steepness negated (k < 0): ZO-high early and at low timesteps. */
    REVERSED("DTAP with the steepness negated: ZO-high early and at low timesteps (ablation)");

    private final String summary;

    Schedule(String summary) {
        this.summary = summary;
    }

    /** One line that says what the schedule does, for a person choosing one (the console's new-job form). */
    public String summary() {
        return summary;
    }

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public static Schedule fromWireName(String name) {
        for (Schedule s : values()) {
            if (s.wireName().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown schedule '" + name + "' (expected one of dtap, tap, bp_high, bp_low,"
                + " zo_high, random, reversed)");
    }
}
