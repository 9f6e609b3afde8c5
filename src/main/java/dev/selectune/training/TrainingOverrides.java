package dev.selectune.training;

import dev.selectune.util.Problem;
import java.util.Collections;
import java.util.LinkedHashMap;
import dev.selectune.training.schedule.Schedule;
import java.util.List;
import java.util.Map;

/**
 * The hyperparameters a caller gave explicitly, by JSON name, as wire values (see {@link HyperparameterSet});
 * absent ones keep the {@link TrainingConfig} default. Both ways in (the {@code train} command's options and the
 * service's {@code POST /v1/jobs} body) collect their values into one of these, so the mapping onto the builder
 * is written once, and for every option at once.
 */
public record TrainingOverrides(Map<String, Object> values) {

    public TrainingOverrides {
        Map<String, Object> copy = new LinkedHashMap<>();
        values.forEach((name, value) -> {
            if (value != null) {
                copy.put(TrainingConfig.HYPERPARAMETERS.get(name).name(), value);
            }
        });
        values = Collections.unmodifiableMap(copy);
    }

    /** Every option of {@code config}, as a job stores it (nulls, which mean "the default", left out). */
    public static TrainingOverrides of(TrainingConfig config) {
        Map<String, Object> wire = new LinkedHashMap<>();
        for (HyperparameterSet.Definition d : TrainingConfig.HYPERPARAMETERS.all()) {
            wire.put(d.name(), d.toWire(d.get(config)));
        }
        return new TrainingOverrides(wire);
    }

    /**
     * Sets every value on {@code b}; the others keep whatever {@code b} holds. A value the option cannot take (an
     * unknown schedule name) adds "name: what is wrong" to {@code problems} and leaves the option as it was.
     */
    public TrainingConfig.Builder applyTo(TrainingConfig.Builder b, List<Problem> problems) {
        values.forEach((name, wire) -> {
            try {
                b.set(name, TrainingConfig.HYPERPARAMETERS.get(name).fromWire(wire));
            } catch (IllegalArgumentException e) {
                problems.add(new Problem(name, e.getMessage()));
            }
        });
        return b;
    }

    /** The config these values make (defaults for the others), with the values that could not be set reported. */
    public TrainingConfig toConfig(List<Problem> problems) {
        return applyTo(TrainingConfig.builder(null), problems).build();
    }
}
