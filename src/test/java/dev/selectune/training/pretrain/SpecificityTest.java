package dev.selectune.training.pretrain;

import org.junit.jupiter.api.Test;

import java.util.List;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

/** The arithmetic of bench personalization on numbers worked out by hand. */
class SpecificityTest {
    // Two bands of two draws each: draws 0-1 are band 0, draws 2-3 band 1.
    static final double[][] SUBJECT_BASE = {{1, 1, 2, 2}, {1, 1, 2, 2}};
    static final double[][] SUBJECT_LORA = {{0.9, 0.9, 2, 2}, {0.7, 0.7, 1.6, 1.6}};
    static final double[][] OTHERS_BASE = {{2, 2, 2, 2}};
    static final double[][] OTHERS_LORA = {{2, 2, 1.9, 1.9}};

    @Test
    void ratiosAreSummedLossesOverTheBaseOverallAndPerBand() {
        Specificity s = Specificity.of(2, SUBJECT_BASE, SUBJECT_LORA, OTHERS_BASE, OTHERS_LORA);
        // subject: (0.9+0.9+2+2+0.7+0.7+1.6+1.6) / 12 = 10.4 / 12
        assertEquals(10.4 / 12, s.personalization(), 1e-12);
        assertEquals(7.8 / 8, s.leakage(), 1e-12);
        assertEquals(7.8 / 8 - 10.4 / 12, s.specificity(), 1e-12);
        // band 0: subject (0.9+0.9+0.7+0.7)/4 = 0.8, others 4/4 = 1; band 1: subject 7.2/8 = 0.9, others 3.8/4
        assertArrayEquals(new double[] {0.8, 0.9}, s.bandPersonalization(), 1e-12);
        assertArrayEquals(new double[] {1.0, 0.95}, s.bandLeakage(), 1e-12);
        assertEquals(0.2, s.bandSpecificity(0), 1e-12);
        assertEquals(0.05, s.bandSpecificity(1), 1e-12);
    }

    @Test
    void aLoraThatHelpsEveryPhotoAlikeHasNoSpecificity() {
        double[][] lora = {{0.5, 0.5, 1, 1}, {0.5, 0.5, 1, 1}};
        double[][] others = {{1, 1, 1, 1}};
        Specificity s = Specificity.of(2, SUBJECT_BASE, lora, OTHERS_BASE, others);
        assertEquals(0.5, s.personalization(), 1e-12);
        assertEquals(0.0, s.specificity(), 1e-12);
    }

    @Test
    void subjectsAreAveragedWithEqualWeight() {
        Specificity a = new Specificity(0.9, 1.0, new double[] {0.8, 1.0}, new double[] {1.0, 1.0});
        Specificity b = new Specificity(1.0, 1.1, new double[] {1.0, 1.0}, new double[] {1.2, 1.0});
        Specificity m = Specificity.mean(List.of(a, b));
        assertEquals(0.95, m.personalization(), 1e-12);
        assertEquals(1.05, m.leakage(), 1e-12);
        assertEquals(0.1, m.specificity(), 1e-12);
        assertArrayEquals(new double[] {0.9, 1.0}, m.bandPersonalization(), 1e-12);
        assertArrayEquals(new double[] {1.1, 1.0}, m.bandLeakage(), 1e-12);
    }

    @Test
    void drawsThatDoNotSplitIntoBandsAreRefused() {
        double[][] odd = {{1, 1, 1}};
        assertThrows(IllegalArgumentException.class, () -> Specificity.of(2, odd, odd, OTHERS_BASE, OTHERS_LORA));
    }
}
