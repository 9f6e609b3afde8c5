package dev.selectune.console;

import dev.selectune.api.Views;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/** The compare page's spec rows: each setting with every job's value, those that differ first. */
public final class SpecDifferences {
    private SpecDifferences() {
    }

    public record Row(String name, List<String> values, boolean differs) {
    }

    public static List<Row> of(List<Views.JobView> jobs) {
        List<Map<String, String>> specs = jobs.stream().map(SpecDifferences::flat).toList();
        Set<String> names = new LinkedHashSet<>();
        specs.forEach(s -> names.addAll(s.keySet()));
        List<Row> differ = new ArrayList<>();
        List<Row> same = new ArrayList<>();
        for (String name : names) {
            List<String> values = specs.stream().map(s -> s.getOrDefault(name, "–")).toList();
            boolean differs = values.stream().distinct().count() > 1;
            (differs ? differ : same).add(new Row(name, values, differs));
        }
        differ.addAll(same);
        return differ;
    }

    private static Map<String, String> flat(Views.JobView j) {
        Map<String, String> out = new LinkedHashMap<>();
        out.put("base_model", j.baseModel());
        out.put("image_set_id", j.imageSetId());
        j.spec().hyperparameters().values().forEach((k, v) -> out.put(k, Objects.toString(v)));
        return out;
    }
}
