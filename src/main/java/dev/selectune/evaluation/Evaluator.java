package dev.selectune.evaluation;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.evaluation.image.ImageProcessor;
import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.models.CLIPModel;
import dev.selectune.evaluation.models.ViTModel;

import java.nio.file.Path;
import java.util.List;

/**
 * The DreamBooth evaluator: a CLIP folder and a DINO folder (standard Hugging Face layouts, each with its
 * {@code preprocessor_config.json}), loaded once and used for any number of {@link #score} calls. Each model sees
 * images preprocessed by its own folder's processor, the same for real and generated images.
 */
public final class Evaluator implements AutoCloseable {
    /** Images embedded per forward: bounds the activations of large towers (ViT-L/14 at 224 px). */
    private static final int BATCH = 8;

    private final CLIPModel clip;
    private final ImageProcessor clipProcessor;
    private final ViTModel dino;
    private final ImageProcessor dinoProcessor;

    public Evaluator(CLIPModel clip, ImageProcessor clipProcessor, ViTModel dino, ImageProcessor dinoProcessor) {
        this.clip = clip;
        this.clipProcessor = clipProcessor;
        this.dino = dino;
        this.dinoProcessor = dinoProcessor;
    }

    public static Evaluator load(Path clipDir, Path dinoDir, Device device) {
        ImageProcessor clipProcessor = ImageProcessor.load(clipDir);
        ImageProcessor dinoProcessor = ImageProcessor.load(dinoDir);
        CLIPModel clip = CLIPModel.load(clipDir, device);
        try {
            return new Evaluator(clip, clipProcessor, ViTModel.load(dinoDir, device), dinoProcessor);
        } catch (RuntimeException e) {
            clip.close();
            throw e;
        }
    }

    public CLIPModel clip() {
        return clip;
    }

    public ViTModel dino() {
        return dino;
    }

    /** DINO and CLIP image embeddings of every image. */
    public ImageEmbeddings embedImages(List<Rgb8Image> images) {
        float[][] d = new float[images.size()][];
        float[][] c = new float[images.size()][];
        for (int start = 0; start < images.size(); start += BATCH) {
            List<Rgb8Image> batch = images.subList(start, Math.min(images.size(), start + BATCH));
            try (NDManager work = dino.manager().newSubManager()) {
                copyRows(dino.clsEmbedding(dinoProcessor.pixelValues(batch, work)), d, start);
            }
            try (NDManager work = clip.manager().newSubManager()) {
                copyRows(clip.imageEmbeds(clipProcessor.pixelValues(batch, work)), c, start);
            }
        }
        return new ImageEmbeddings(d, c);
    }

    /** CLIP text embeddings of each prompt, as given (see {@link DreamBoothMetrics#clipTText} for the identifier). */
    public float[][] embedTexts(List<String> prompts) {
        float[][] out = new float[prompts.size()][];
        for (int start = 0; start < prompts.size(); start += BATCH) {
            List<String> batch = prompts.subList(start, Math.min(prompts.size(), start + BATCH));
            try (NDManager work = clip.manager().newSubManager()) {
                copyRows(clip.textEmbeds(clip.inputIds(batch, work)), out, start);
            }
        }
        return out;
    }

    /**
     * Scores generated images against real ones.
     *
     * @param prompts the CLIP-T text of each generated image, in the same order, or null to skip CLIP-T
     */
    public Scores score(List<Rgb8Image> real, List<Rgb8Image> generated, List<String> prompts) {
        if (prompts != null && prompts.size() != generated.size()) {
            throw new EvaluationException(generated.size() + " generated images but " + prompts.size()
                    + " prompts: CLIP-T needs one prompt per generated image");
        }
        return score(embedImages(real), embedImages(generated), prompts == null ? null : embedTexts(prompts));
    }

    /** The metrics from embeddings; {@code texts} (one row per generated image) may be null. */
    public static Scores score(ImageEmbeddings real, ImageEmbeddings generated, float[][] texts) {
        double dinoScore = DreamBoothMetrics.meanPairwiseCosine(generated.dino(), real.dino());
        double clipI = DreamBoothMetrics.meanPairwiseCosine(generated.clip(), real.clip());
        Double clipT = texts == null ? null : DreamBoothMetrics.meanMatchedCosine(generated.clip(), texts);
        return new Scores(dinoScore, clipI, clipT);
    }

    private static void copyRows(NDArray embeddings, float[][] into, int start) {
        long rows = embeddings.getShape().get(0);
        long dim = embeddings.getShape().get(1);
        float[] flat = embeddings.toType(DataType.FLOAT32, false).toFloatArray();
        for (int i = 0; i < rows; i++) {
            into[start + i] = java.util.Arrays.copyOfRange(flat, (int) (i * dim), (int) ((i + 1) * dim));
        }
        embeddings.close();
    }

    @Override
    public void close() {
        try {
            clip.close();
        } finally {
            dino.close();
        }
    }

}
