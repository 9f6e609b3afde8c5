package dev.selectune.training;

import dev.selectune.training.schedule.Strategy;

/**
 * What one training step did.
 *
 * @param step        1-based step index i
 * @param totalSteps  i_max
 * @param strategy    the optimizer the schedule chose
 * @param timestep    the diffusion timestep t
 * @param pZo         the probability of ZO-high the schedule gave for (i, t)
 * @param loss        the training loss (BP: the MSE; ZO: the mean of L+ and L-)
 * @param seconds     wall time of the step
 * @param peakBytes   the step's memory peak, as {@link MemorySummary#measuredAs()} says
 */
public record StepReport(int step, int totalSteps, Strategy strategy, int timestep, double pZo, double loss,
                         double seconds, long peakBytes) {
}
