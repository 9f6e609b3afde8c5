package dev.selectune.evaluation;

import java.util.ArrayList;
import java.util.List;

/**
 * The DreamBooth metrics (Ruiz et al. 2023) on embeddings, as plain cosines (0.3, not 30; never clamped at 0):
 * DINO and CLIP-I are the mean cosine over all generated x real pairs (not the cosine of mean embeddings), CLIP-T the
 * mean cosine between each generated image and the prompt that made it. Sums are taken in double.
 *
 * <p>CLIP-T text: the identifier token is removed from the prompt before it is encoded ("a photo of sks dog" is
 * scored as "a photo of dog"). The identifier is a rare token chosen to mean nothing; left in, it adds a constant
 * of no meaning to every CLIP-T, and the bare base model's baseline row (same prompts) would be scored against a
 * word that was never taught to it. Without it, CLIP-T measures what the paper means by prompt fidelity: the class
 * and the context the prompt asks for.
 */
public final class DreamBoothMetrics {
    private DreamBoothMetrics() {
    }

    public static double cosine(float[] a, float[] b) {
        if (a.length != b.length) {
            throw new IllegalArgumentException("embeddings of " + a.length + " and " + b.length + " dimensions");
        }
        double dot = 0;
        double na = 0;
        double nb = 0;
        for (int i = 0; i < a.length; i++) {
            dot += (double) a[i] * b[i];
            na += (double) a[i] * a[i];
            nb += (double) b[i] * b[i];
        }
        return dot / (Math.sqrt(na) * Math.sqrt(nb));
    }

    /** {@code v / ||v||_2} row by row (what CLIPModel.forward returns as image_embeds / text_embeds). */
    public static float[][] normalized(float[][] rows) {
        float[][] out = new float[rows.length][];
        for (int i = 0; i < rows.length; i++) {
            double n = 0;
            for (float x : rows[i]) {
                n += (double) x * x;
            }
            double norm = Math.sqrt(n);
            out[i] = new float[rows[i].length];
            for (int j = 0; j < rows[i].length; j++) {
                out[i][j] = (float) (rows[i][j] / norm);
            }
        }
        return out;
    }

    /** DINO / CLIP-I: (1 / (|G| |R|)) sum over g, r of cos(g, r). */
    public static double meanPairwiseCosine(float[][] generated, float[][] real) {
        requireNonEmpty(generated, "generated");
        requireNonEmpty(real, "real");
        double sum = 0;
        for (float[] g : generated) {
            for (float[] r : real) {
                sum += cosine(g, r);
            }
        }
        return sum / ((double) generated.length * real.length);
    }

    /** CLIP-T: (1 / |G|) sum over g of cos(image g, text of g's prompt); both arrays in the same order. */
    public static double meanMatchedCosine(float[][] images, float[][] texts) {
        requireNonEmpty(images, "generated");
        if (images.length != texts.length) {
            throw new IllegalArgumentException(images.length + " generated images but " + texts.length + " prompts");
        }
        double sum = 0;
        for (int i = 0; i < images.length; i++) {
            sum += cosine(images[i], texts[i]);
        }
        return sum / images.length;
    }

    /** The CLIP-T text of a prompt: the prompt without the identifier token (see the class comment). */
    public static String clipTText(String prompt, String identifier) {
        if (identifier == null || identifier.isBlank()) {
            return prompt;
        }
        List<String> kept = new ArrayList<>();
        for (String word : prompt.trim().split("\\s+")) {
            if (!word.equals(identifier)) {
                kept.add(word);
            }
        }
        return String.join(" ", kept);
    }

    private static void requireNonEmpty(float[][] set, String what) {
        if (set.length == 0) {
            throw new IllegalArgumentException("no " + what + " images to score");
        }
    }
}
