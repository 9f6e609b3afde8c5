package dev.selectune.evaluation.image;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import dev.selectune.evaluation.io.EvaluationException;
import dev.selectune.evaluation.io.JsonFields;

import java.nio.file.Path;
import java.util.List;

/**
 * An encoder's image preprocessing, read from its {@code preprocessor_config.json} and computed as transformers'
 * image processors do: resize on the uint8 image with Pillow's filter ({@link PillowResize}), center crop at
 * {@code floor((size - crop) / 2)}, {@code float32(u8 * rescale_factor)} (the product in double), then
 * {@code (x - mean) / std} in float32, laid out (N, 3, H, W).
 *
 * <p>Three processor classes are understood, and they differ in what an integer {@code size} means:
 * {@code CLIPImageProcessor} / {@code CLIPFeatureExtractor} and {@code BitImageProcessor} take it as the shortest
 * edge (the long side becomes {@code floor(size * long / short)}) and center-crop to {@code crop_size};
 * {@code ViTImageProcessor} / {@code ViTFeatureExtractor} squash the image to {@code size x size} and never crop.
 * A size given as {@code {"height", "width"}} resizes to exactly that for every class.
 *
 * @param shortestEdge  the shortest side after resize, or 0 when resizing to {@code resizeHeight x resizeWidth}
 * @param resizeHeight  exact resize height (when shortestEdge is 0 and resizing)
 * @param cropHeight    center crop height, or 0 for no crop
 * @param rescaleFactor 0 for no rescale
 * @param mean          null for no normalisation
 */
public record ImageProcessor(String processorClass, boolean resize, int shortestEdge, int resizeHeight,
                             int resizeWidth, PillowResize.Filter filter, int cropHeight, int cropWidth,
                             double rescaleFactor, double[] mean, double[] std) {

    public static final String FILE = "preprocessor_config.json";

    /** Reads {@code dir/preprocessor_config.json}. */
    public static ImageProcessor load(Path dir) {
        return fromConfig(JsonFields.read(dir.resolve(FILE)));
    }

    public static ImageProcessor fromConfig(JsonFields c) {
        String type = c.stringField("image_processor_type", c.stringField("feature_extractor_type", null));
        if (type == null) {
            throw c.error("image_processor_type", "(or feature_extractor_type) is required");
        }
        boolean squash;
        boolean cropByDefault;
        int defaultFilter;
        switch (type) {
            case "CLIPImageProcessor", "CLIPFeatureExtractor", "BitImageProcessor" -> {
                squash = false;
                cropByDefault = true;
                defaultFilter = 3;
            }
            case "ViTImageProcessor", "ViTFeatureExtractor" -> {
                squash = true;
                cropByDefault = false;
                defaultFilter = 2;
            }
            default -> throw c.error(c.has("image_processor_type") ? "image_processor_type" : "feature_extractor_type",
                    "names " + type + "; supported are CLIPImageProcessor, ViTImageProcessor and BitImageProcessor");
        }
        boolean resize = c.boolField("do_resize", true);
        int shortest = 0;
        int height = 0;
        int width = 0;
        if (resize) {
            JsonElement size = c.get("size");
            if (size == null) {
                throw c.error("size", "is required when do_resize is true");
            }
            if (size.isJsonObject()) {
                JsonFields s = c.object("size");
                if (s.has("shortest_edge") && !squash) {
                    shortest = positive(s, "shortest_edge", s.requiredInt("shortest_edge"));
                } else {
                    height = positive(s, "height", s.requiredInt("height"));
                    width = positive(s, "width", s.requiredInt("width"));
                }
            } else {
                int n = positive(c, "size", c.requiredInt("size"));
                if (squash) {
                    height = n;
                    width = n;
                } else {
                    shortest = n;
                }
            }
        }
        int resample = c.intField("resample", defaultFilter);
        PillowResize.Filter filter = PillowResize.Filter.ofPillowId(resample);
        if (filter == null) {
            throw c.error("resample", "is " + resample + "; supported are 2 (bilinear) and 3 (bicubic)");
        }
        int cropH = 0;
        int cropW = 0;
        if (!squash && c.boolField("do_center_crop", cropByDefault)) {
            JsonElement crop = c.get("crop_size");
            if (crop == null) {
                throw c.error("crop_size", "is required when do_center_crop is true");
            }
            if (crop.isJsonObject()) {
                JsonFields s = c.object("crop_size");
                cropH = positive(s, "height", s.requiredInt("height"));
                cropW = positive(s, "width", s.requiredInt("width"));
            } else {
                cropH = positive(c, "crop_size", c.requiredInt("crop_size"));
                cropW = cropH;
            }
        }
        double rescale = c.boolField("do_rescale", true) ? c.doubleField("rescale_factor", 1.0 / 255) : 0;
        double[] mean = null;
        double[] std = null;
        if (c.boolField("do_normalize", true)) {
            mean = c.requiredNumbers("image_mean", 3);
            std = c.requiredNumbers("image_std", 3);
            for (double s : std) {
                if (!(s > 0)) {
                    throw c.error("image_std", "must be positive, got " + s);
                }
            }
        }
        return new ImageProcessor(type, resize, shortest, height, width, filter, cropH, cropW, rescale, mean, std);
    }

    private static int positive(JsonFields c, String field, int v) {
        if (v < 1) {
            throw c.error(field, "must be positive, got " + v);
        }
        return v;
    }

    private int[] resizedSize(int h, int w) {
        if (!resize) {
            return new int[] {h, w};
        }
        if (shortestEdge == 0) {
            return new int[] {resizeHeight, resizeWidth};
        }
        // transformers' get_resize_output_image_size(default_to_square=False): the long side is int(size * long / short).
        boolean portrait = h > w;
        int shortSide = Math.min(h, w);
        int longSide = Math.max(h, w);
        int newLong = (int) ((long) shortestEdge * longSide / shortSide);
        return portrait ? new int[] {newLong, shortestEdge} : new int[] {shortestEdge, newLong};
    }

    /** Resize and center crop, still uint8: the golden {@code resized_uint8}. */
    public Rgb8Image resizeAndCrop(Rgb8Image image) {
        int[] size = resizedSize(image.height(), image.width());
        Rgb8Image out = PillowResize.resize(image, size[1], size[0], filter);
        if (cropHeight > 0) {
            if (cropHeight > out.height() || cropWidth > out.width()) {
                throw new EvaluationException("image of " + out.width() + "x" + out.height() + " after resize is smaller"
                        + " than the " + cropWidth + "x" + cropHeight + " crop");
            }
            out = out.crop((out.width() - cropWidth) / 2, (out.height() - cropHeight) / 2, cropWidth, cropHeight);
        }
        return out;
    }

    /** Rescale and normalise into {@code dst} at {@code offset}, channels first (3, H, W). */
    public void toPixelValues(Rgb8Image image, float[] dst, int offset) {
        int hw = image.width() * image.height();
        for (int c = 0; c < 3; c++) {
            float m = mean == null ? 0f : (float) mean[c];
            float s = std == null ? 1f : (float) std[c];
            for (int i = 0; i < hw; i++) {
                int u8 = image.pixels()[3 * i + c] & 0xff;
                float x = rescaleFactor > 0 ? (float) (u8 * rescaleFactor) : u8;
                dst[offset + c * hw + i] = mean == null ? x : (x - m) / s;
            }
        }
    }

    /** The processed batch (N, 3, H, W) in {@code manager}; every image must come out the same size. */
    public NDArray pixelValues(List<Rgb8Image> images, NDManager manager) {
        if (images.isEmpty()) {
            throw new IllegalArgumentException("no images");
        }
        Rgb8Image first = resizeAndCrop(images.get(0));
        int h = first.height();
        int w = first.width();
        float[] data = new float[images.size() * 3 * h * w];
        for (int i = 0; i < images.size(); i++) {
            Rgb8Image p = i == 0 ? first : resizeAndCrop(images.get(i));
            if (p.height() != h || p.width() != w) {
                throw new EvaluationException("image " + i + " comes out " + p.width() + "x" + p.height() + " after "
                        + "preprocessing, image 0 " + w + "x" + h + ": set crop_size or a height/width size");
            }
            toPixelValues(p, data, i * 3 * h * w);
        }
        return manager.create(data, new Shape(images.size(), 3, h, w));
    }
}
