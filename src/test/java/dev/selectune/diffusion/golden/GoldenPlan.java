package dev.selectune.diffusion.golden;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;

/**
 * Which check verifies each entry of a case: every family plans the entries it understands; an entry that no check
 * verifies or consumes as an input is left over, and a family that cannot plan at all is an error. Both fail the
 * case in {@code GoldenReferenceTest}.
 *
 * @param checks         by output entry, in family order (cheap components first, the pipeline last)
 * @param unknownEntries entries no family understands
 * @param planningErrors family name to the exception it threw while planning
 */
public record GoldenPlan(Map<String, GoldenCheck> checks, List<String> unknownEntries,
                         Map<String, RuntimeException> planningErrors) {

    /** Every entry kind of REFERENCE.md, plus the SDXL names. */
    public static final List<GoldenFamily> FAMILIES = List.of(new SchedulerGolden(), new TextGolden(),
            new VaeGolden(), new UnetGolden(), new LoraGolden(), new PipelineGolden());

    public static GoldenPlan of(GoldenCaseRun run) {
        Map<String, GoldenCheck> checks = new LinkedHashMap<>();
        Set<String> consumed = new LinkedHashSet<>();
        Map<String, RuntimeException> errors = new LinkedHashMap<>();
        for (GoldenFamily family : FAMILIES) {
            try {
                for (GoldenCheck c : family.plan(run)) {
                    checks.put(c.entry(), c);
                    consumed.addAll(c.inputs());
                }
            } catch (RuntimeException e) {
                errors.put(family.getClass().getSimpleName(), e);
            }
        }
        List<String> unknown = new ArrayList<>();
        for (String entry : run.entryNames()) {
            if (!checks.containsKey(entry) && !consumed.contains(entry)) {
                unknown.add(entry);
            }
        }
        return new GoldenPlan(checks, unknown, errors);
    }
}
