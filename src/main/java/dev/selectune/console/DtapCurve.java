package dev.selectune.console;

import dev.selectune.training.TrainingConfig;
import dev.selectune.training.schedule.StrategyChooser;

/**
 * The probability of ZO-high p(t, i) over a job's steps and timesteps, sampled on a grid for the job page to shade
 * behind the timestep chart. The values come from the trainer's own {@link StrategyChooser}, built as the training
 * loop builds it, so the picture is the schedule the job ran, not a copy of its formula.
 *
 * @param progress  the steps i of the grid's columns (0-based, as the chooser counts them)
 * @param timesteps the timesteps t of the grid's rows
 * @param p         p[row][column]
 */
public record DtapCurve(String schedule, int steps, int[] progress, int[] timesteps, double[][] p) {
    /** The training timesteps t run from 0 to 999 (t_max's bound is 1000). */
    static final int TIMESTEPS = 1000;
    private static final int COLUMNS = 60;
    private static final int ROWS = 40;

    public static DtapCurve of(TrainingConfig config) {
        StrategyChooser chooser = new StrategyChooser(config.schedule(), config.k(), config.tMid(), config.tMax(),
                config.steps());
        int columns = Math.min(COLUMNS, config.steps());
        int[] progress = new int[columns];
        for (int c = 0; c < columns; c++) {
            progress[c] = (int) Math.round((double) c * config.steps() / columns);
        }
        int[] timesteps = new int[ROWS];
        double[][] p = new double[ROWS][columns];
        for (int r = 0; r < ROWS; r++) {
            timesteps[r] = (int) Math.round((r + 0.5) * TIMESTEPS / ROWS);
            for (int c = 0; c < columns; c++) {
                p[r][c] = chooser.pZo(progress[c], timesteps[r]);
            }
        }
        return new DtapCurve(config.schedule().wireName(), config.steps(), progress, timesteps, p);
    }
}
