package dev.selectune.diffusion.golden;

import java.util.List;

/**
 * One kind of golden entry ({@code vae.*}, {@code text.*}, {@code pipe.*}, ...): which of a case's entries it can
 * verify and how. A family returns checks only for entries it understands; any entry that no family checks or
 * consumes makes the harness fail, so a new entry kind is never silently skipped.
 */
public interface GoldenFamily {
    List<GoldenCheck> plan(GoldenCaseRun run);
}
