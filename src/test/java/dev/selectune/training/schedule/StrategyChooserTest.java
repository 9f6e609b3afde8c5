package dev.selectune.training.schedule;

import org.junit.jupiter.api.Test;

import java.util.SplittableRandom;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

class StrategyChooserTest {
    private static final int STEPS = 1000;

    @Test
    void dtapMidpointMovesFromTMaxToTEnd() {
        StrategyChooser c = new StrategyChooser(Schedule.DTAP, 0.05, 750, 1000, STEPS);
        assertEquals(1000, c.tDyn(0), 1e-9);
        assertEquals(750, c.tDyn(500), 1e-9, "crosses t_mid half way (Eq. 4)");
        assertEquals(500, c.tDyn(1000), 1e-9, "t_end = 2 t_mid - t_max");
        assertEquals(0.5, c.pZo(500, 750), 1e-12);
        assertEquals(1 / (1 + Math.exp(-0.05 * (900 - 1000))), c.pZo(0, 900), 1e-12);
        assertTrue(c.pZo(999, 999) > 0.99 && c.pZo(0, 0) < 1e-20, "ZO-high late and at high t");
    }

    @Test
    void otherSchedulesFollowTheirDefinitions() {
        StrategyChooser tap = new StrategyChooser(Schedule.TAP, 0.05, 750, 1000, STEPS);
        assertEquals(tap.pZo(0, 800), tap.pZo(900, 800), 1e-12, "TAP ignores progress");
        assertEquals(1 / (1 + Math.exp(-0.05 * 50)), tap.pZo(0, 800), 1e-12);
        StrategyChooser rev = new StrategyChooser(Schedule.REVERSED, 0.05, 750, 1000, STEPS);
        StrategyChooser dtap = new StrategyChooser(Schedule.DTAP, 0.05, 750, 1000, STEPS);
        assertEquals(1 - dtap.pZo(300, 640), rev.pZo(300, 640), 1e-12, "reversed negates k");
        assertEquals(0.5, new StrategyChooser(Schedule.RANDOM, 0.05, 750, 1000, STEPS).pZo(3, 10));
        assertEquals(1.0, new StrategyChooser(Schedule.ZO_HIGH, 0.05, 750, 1000, STEPS).pZo(3, 10));
        StrategyChooser bpHigh = new StrategyChooser(Schedule.BP_HIGH, 0.05, 750, 1000, STEPS);
        assertEquals(Strategy.BP_HIGH, bpHigh.choose(bpHigh.pZo(0, 999), 0.0));
        StrategyChooser bpLow = new StrategyChooser(Schedule.BP_LOW, 0.05, 750, 1000, STEPS);
        assertEquals(Strategy.BP_LOW, bpLow.choose(bpLow.pZo(999, 999), 0.0));
    }

    /**
     * Draws (i, t, u) as the trainer does and checks the empirical ZO-high fraction in each (i, t) bin against
     * the mean of Eq. 5 over the bin, within 4 binomial standard errors.
     */
    @Test
    void empiricalZoFractionInBinsOfTAndIMatchesDtap() {
        StrategyChooser c = new StrategyChooser(Schedule.DTAP, 0.05, 750, 1000, STEPS);
        int iBins = 4;
        int tBins = 10;
        long[][] zo = new long[iBins][tBins];
        long[][] n = new long[iBins][tBins];
        double[][] expected = new double[iBins][tBins];
        SplittableRandom random = new SplittableRandom(2024);
        for (int draw = 0; draw < 400_000; draw++) {
            int i = random.nextInt(STEPS);
            int t = random.nextInt(1000);
            double p = c.pZo(i, t);
            Strategy s = c.choose(p, random.nextDouble());
            int bi = i * iBins / STEPS;
            int bt = t * tBins / 1000;
            n[bi][bt]++;
            expected[bi][bt] += p;
            if (s == Strategy.ZO_HIGH) {
                zo[bi][bt]++;
            }
        }
        for (int bi = 0; bi < iBins; bi++) {
            for (int bt = 0; bt < tBins; bt++) {
                double want = expected[bi][bt] / n[bi][bt];
                double got = (double) zo[bi][bt] / n[bi][bt];
                double se = Math.sqrt(Math.max(want * (1 - want), 1e-6) / n[bi][bt]);
                assertEquals(want, got, 4 * se + 1e-4, "bin i=" + bi + " t=" + bt);
            }
        }
        // And the shape the paper describes: late, high-t bins are mostly ZO, early low-t bins BP.
        assertTrue((double) zo[3][9] / n[3][9] > 0.95);
        assertTrue((double) zo[0][5] / n[0][5] < 0.01);
    }
}
