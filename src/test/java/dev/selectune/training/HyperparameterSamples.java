package dev.selectune.training;

import java.util.List;

/** For tests that go over every option: a valid wire value of each that is not its default. */
public final class HyperparameterSamples {
    private HyperparameterSamples() {
    }

    public static Object notTheDefault(HyperparameterSet.Definition d) {
        Object dflt = d.toWire(d.defaultValue());
        if (d.isList()) {
            return List.of("a sks dog on a beach", "a sks dog in snow");
        }
        if (d.isBoolean()) {
            return !Boolean.TRUE.equals(dflt);
        }
        if (!d.choices().isEmpty()) {
            return d.choices().stream().filter(c -> !c.equals(dflt)).findFirst().orElseThrow();
        }
        if (d.wireType() == String.class) {
            return "a photo of a dog";
        }
        if (d.range().isEmpty()) {
            return d.wireType() == Long.class ? (Object) 12345L : d.wireType() == Integer.class ? (Object) 7 : 0.5;
        }
        HyperparameterRange r = d.range().get();
        double v = r.integer() ? r.min() + (r.minExclusive() ? 1 : 0) : (r.min() + r.max()) / 2;
        if (dflt != null && ((Number) dflt).doubleValue() == v) {
            v = r.max() - (r.maxExclusive() ? (r.integer() ? 1 : (r.max() - r.min()) / 4) : 0);
        }
        return d.wireType() == Integer.class ? (Object) (int) v : d.wireType() == Long.class ? (Object) (long) v : v;
    }
}
