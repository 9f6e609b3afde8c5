package dev.selectune.training.pretrain;

import java.util.List;

/**
 * How specifically a LoRA personalized, from the denoising losses of the base model and of the LoRA on the same
 * draws ({@link DenoisingProbe}): the personalization ratio is the LoRA's summed loss over the base's on the
 * subject's unseen photos, the leakage ratio the same on the other subjects' photos, and
 * {@code specificity = leakage - personalization}. Positive means the LoRA lowered its subject's loss more than
 * others' (a LoRA that just made a better denoiser of every photo scores 0). Each figure exists overall and per
 * timestep band.
 *
 * @param personalization     ratio on the subject's unseen photos, all draws
 * @param leakage             ratio on the other subjects' photos, all draws
 * @param bandPersonalization the ratio per band (index b covers timesteps [250 b, 250 (b + 1)))
 * @param bandLeakage         the leakage ratio per band
 */
public record Specificity(double personalization, double leakage, double[] bandPersonalization,
                          double[] bandLeakage) {

    public double specificity() {
        return leakage - personalization;
    }

    public double bandSpecificity(int band) {
        return bandLeakage[band] - bandPersonalization[band];
    }

    /**
     * @param bands           number of bands; draw d of every image is in band {@code d / (draws / bands)}
     * @param subjectBase     base losses [image][draw] on the subject's unseen photos
     * @param subjectLora     LoRA losses on the same draws
     * @param othersBase      base losses on the other subjects' photos
     * @param othersLora      LoRA losses on the same draws
     */
    public static Specificity of(int bands, double[][] subjectBase, double[][] subjectLora, double[][] othersBase,
                                 double[][] othersLora) {
        double[] bandP = new double[bands];
        double[] bandL = new double[bands];
        for (int b = 0; b < bands; b++) {
            bandP[b] = ratio(subjectLora, subjectBase, bands, b);
            bandL[b] = ratio(othersLora, othersBase, bands, b);
        }
        return new Specificity(ratio(subjectLora, subjectBase, bands, -1), ratio(othersLora, othersBase, bands, -1),
                bandP, bandL);
    }

    /** The mean of several subjects' figures (each subject weighs the same, whatever its number of photos). */
    public static Specificity mean(List<Specificity> all) {
        int bands = all.get(0).bandPersonalization.length;
        double p = 0;
        double l = 0;
        double[] bp = new double[bands];
        double[] bl = new double[bands];
        for (Specificity s : all) {
            p += s.personalization;
            l += s.leakage;
            for (int b = 0; b < bands; b++) {
                bp[b] += s.bandPersonalization[b];
                bl[b] += s.bandLeakage[b];
            }
        }
        int n = all.size();
        for (int b = 0; b < bands; b++) {
            bp[b] /= n;
            bl[b] /= n;
        }
        return new Specificity(p / n, l / n, bp, bl);
    }

    /** sum(lora) / sum(base) over every image's draws in {@code band} (all draws when band < 0). */
    private static double ratio(double[][] lora, double[][] base, int bands, int band) {
        if (lora.length != base.length) {
            throw new IllegalArgumentException(lora.length + " images of LoRA losses for " + base.length + " of base");
        }
        double num = 0;
        double den = 0;
        for (int i = 0; i < base.length; i++) {
            int draws = base[i].length;
            if (draws % bands != 0 || lora[i].length != draws) {
                throw new IllegalArgumentException("image " + i + ": " + lora[i].length + " LoRA and " + draws
                        + " base draws, not a whole number per band of " + bands);
            }
            int per = draws / bands;
            for (int d = 0; d < draws; d++) {
                if (band < 0 || d / per == band) {
                    num += lora[i][d];
                    den += base[i][d];
                }
            }
        }
        return num / den;
    }
}
