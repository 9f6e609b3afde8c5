package dev.selectune.training.schedule;

import java.util.Locale;

/**
 * How each step chooses its optimizer: the rows of the paper's ablation.
 * Wire names (JSON, CLI) are the lower-case constant names: {@code dtap}, {@code tap}, ...
 */
public enum Schedule {
    /** Dynamic timestep-aware probability (Eq. 4-5): the paper's method and the default. */
    DTAP,
    /** Timestep-aware probability with a fixed midpoint (Eq. 3). */
    TAP,
    /** Backprop at full resolution every step: the memory-hungry baseline. */
    BP_HIGH,
    /** Backprop at the low resolution every step. */
    BP_LOW,
    /** MeZO at full resolution every step. */
    ZO_HIGH,
    /** BP-low or ZO-high with probability 0.5 each. */
    RANDOM,
    /** DTAP with the steepness negated (k < 0): ZO-high early and at low timesteps. */
    REVERSED;

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
