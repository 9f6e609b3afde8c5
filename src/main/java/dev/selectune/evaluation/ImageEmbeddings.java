package dev.selectune.evaluation;

/** The DINO and CLIP image embeddings of a list of images, row i for image i, not normalised. */
public record ImageEmbeddings(float[][] dino, float[][] clip) {

    public int size() {
        return dino.length;
    }

    /** Rows {@code from} (inclusive) to {@code to} (exclusive). */
    public ImageEmbeddings slice(int from, int to) {
        return new ImageEmbeddings(java.util.Arrays.copyOfRange(dino, from, to), java.util.Arrays.copyOfRange(clip, from, to));
    }
}
