package dev.selectune.training.schedule;

import java.util.Locale;

/** The optimizer one step ran. Wire names: {@code bp_low}, {@code zo_high}, {@code bp_high}. */
public enum Strategy {
    /** Backprop on the low-resolution latents, AdamW. */
    BP_LOW,
    /** MeZO (central differences, N seeded perturbations) on the full-resolution latents, SGD. */
    ZO_HIGH,
    /** Backprop on the full-resolution latents, AdamW (the baseline). */
    BP_HIGH;

    public String wireName() {
        return name().toLowerCase(Locale.ROOT);
    }

    public boolean isBackprop() {
        return this != ZO_HIGH;
    }
}
