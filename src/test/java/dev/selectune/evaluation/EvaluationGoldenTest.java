package dev.selectune.evaluation;

import ai.djl.Device;
import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.clip.CLIPTextOutput;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.evaluation.image.ImageProcessor;
import dev.selectune.evaluation.image.Rgb8Image;
import dev.selectune.evaluation.models.CLIPModel;
import dev.selectune.evaluation.models.TextInputs;
import dev.selectune.evaluation.models.ViTModel;
import dev.selectune.evaluation.models.VisionOutput;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DynamicContainer;
import org.junit.jupiter.api.DynamicNode;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.TestFactory;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.function.Supplier;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

/**
 * Checks every entry of the golden-eval cases (test resources {@code golden-eval/tiny-clip} and
 * {@code tiny-dino}, see its README) against the Java evaluator: one test per entry, named {@code <case>/<entry>}.
 * An entry no rule below understands is a failing test, never a skip.
 *
 * <p>Tolerances of REFERENCE.md: encoders fed the golden {@code pixel_values} / {@code input_ids}:
 * {@code 1e-4 * max(1, max|ref|)}; cosines and metric examples {@code 1e-4} absolute; {@code pixel_values} from the
 * Java preprocessing of the image files {@code 1/(255 * min std) + 1e-5}; {@code resized_uint8} within one level;
 * token ids, attention masks and EOS positions exactly. Text hidden states are compared up to each prompt's EOS: rows
 * after it depend on the padding mask, which the (causal) CLIP text tower does not take. Besides the entries, each
 * case checks the embeddings computed end to end from the image files within {@code 1e-2} (REFERENCE.md: 1-level
 * pixel differences move these tiny models by up to 0.45 %).
 */
class EvaluationGoldenTest {
    static final Path ROOT = Path.of("src/test/resources/golden-eval");
    private static final List<AutoCloseable> OPEN = new ArrayList<>();

    @TestFactory
    Stream<DynamicNode> goldenEval() {
        return Stream.of("tiny-clip", "tiny-dino").map(name -> {
            Case c;
            try {
                c = new Case(ROOT.resolve(name));
            } catch (RuntimeException e) {
                return DynamicContainer.dynamicContainer(name, Stream.of(DynamicTest.dynamicTest(name + "/load",
                        () -> fail("cannot load golden case " + name + ": " + e.getMessage(), e))));
            }
            OPEN.add(c);
            return DynamicContainer.dynamicContainer(name, c.tests().stream());
        });
    }

    @AfterAll
    static void close() throws Exception {
        for (AutoCloseable c : OPEN) {
            c.close();
        }
        OPEN.clear();
    }

    /** How an entry is compared with its reference. */
    enum Kind { COMPONENT, COSINE, PIXELS, LEVELS, EXACT, TEXT_ROWS }

    record Check(Kind kind, Supplier<float[]> actual) {
    }

    static final class Case implements AutoCloseable {
        final Path dir;
        final String name;
        final JsonObject json;
        final SafeTensorsFile golden;
        final NDManager manager = NDManager.newBaseManager(Device.cpu());
        final Map<String, Object> memo = new HashMap<>();
        CLIPModel clip;
        ViTModel dino;

        Case(Path dir) {
            this.dir = dir;
            this.name = dir.getFileName().toString();
            try {
                this.json = JsonParser.parseString(Files.readString(dir.resolve("golden.json"))).getAsJsonObject();
            } catch (IOException e) {
                throw new IllegalStateException(e);
            }
            this.golden = SafeTensorsFile.open(dir.resolve("golden.safetensors"));
        }

        List<DynamicNode> tests() {
            List<DynamicNode> out = new ArrayList<>();
            java.util.Set<String> names = new java.util.TreeSet<>(json.getAsJsonObject("entries").keySet());
            names.addAll(golden.tensors().keySet());
            for (String entry : names) {
                Check check;
                try {
                    check = plan(entry);
                } catch (RuntimeException e) {
                    out.add(DynamicTest.dynamicTest(name + "/" + entry, () -> fail(entry + ": cannot plan: " + e, e)));
                    continue;
                }
                if (check == null) {
                    out.add(DynamicTest.dynamicTest(name + "/" + entry, () -> fail(name + "/" + entry
                            + ": no check understands this entry")));
                } else {
                    out.add(DynamicTest.dynamicTest(name + "/" + entry, () -> verify(entry, check)));
                }
            }
            for (String embeds : name.equals("tiny-clip") ? List.of("clip.image_embeds")
                    : List.of("dino.hf.cls", "dino.repo.cls")) {
                out.add(DynamicTest.dynamicTest(name + "/end-to-end " + embeds + " from the image files",
                        () -> verifyEndToEnd(embeds)));
            }
            return out;
        }

        // ---- planning: entry name -> Java computation ----

        Check plan(String entry) {
            if (entry.startsWith("clip.")) {
                return planClip(entry.substring(5));
            }
            Matcher m = Pattern.compile("dino\\.(hf|repo)\\.(.+)").matcher(entry);
            return m.matches() ? planDino(m.group(1), m.group(2)) : null;
        }

        Check planClip(String e) {
            Matcher hidden = Pattern.compile("(text|vision)_hidden_states\\.(\\d+)").matcher(e);
            if (hidden.matches()) {
                int i = Integer.parseInt(hidden.group(2));
                return hidden.group(1).equals("text")
                        ? new Check(Kind.TEXT_ROWS, () -> flat(textOut().hiddenState(i)))
                        : new Check(Kind.COMPONENT, () -> flat(visionOut().hiddenStates().get(i)));
            }
            return switch (e) {
                case "pixel_values" -> new Check(Kind.PIXELS, () -> pixelValues("clip"));
                case "resized_uint8" -> new Check(Kind.LEVELS, () -> resized("clip"));
                case "input_ids" -> new Check(Kind.EXACT, () -> toFloats(textInputs().ids()));
                case "attention_mask" -> new Check(Kind.EXACT, () -> toFloats(textInputs().attentionMask()));
                case "text_eos_index" -> new Check(Kind.EXACT, () -> toFloats(textInputs().eosIndex()));
                case "text_last_hidden_state" -> new Check(Kind.TEXT_ROWS, () -> flat(textOut().lastHiddenState()));
                case "text_pooler_output" -> new Check(Kind.COMPONENT, () -> flat(textOut().pooledOutput()));
                case "text_embeds" -> new Check(Kind.COMPONENT, () -> flatRows(textEmbeds()));
                case "text_embeds_normalized" -> new Check(Kind.COMPONENT,
                        () -> flatRows(DreamBoothMetrics.normalized(textEmbeds())));
                case "vision_last_hidden_state" -> new Check(Kind.COMPONENT, () -> flat(visionOut().lastHiddenState()));
                case "vision_pooler_output" -> new Check(Kind.COMPONENT, () -> flat(visionOut().pooledOutput()));
                case "image_embeds" -> new Check(Kind.COMPONENT, () -> flatRows(imageEmbeds()));
                case "image_embeds_normalized" -> new Check(Kind.COMPONENT,
                        () -> flatRows(DreamBoothMetrics.normalized(imageEmbeds())));
                case "cos_image_text" -> new Check(Kind.COSINE, () -> cosines(imageEmbeds(), textEmbeds(), 1));
                case "cos_image_image" -> new Check(Kind.COSINE, () -> cosines(imageEmbeds(), imageEmbeds(), 1));
                case "logit_scale" -> new Check(Kind.COMPONENT, () -> new float[] {clip().logitScale()});
                case "logits_per_image" -> new Check(Kind.COMPONENT,
                        () -> cosines(imageEmbeds(), textEmbeds(), Math.exp(clip().logitScale())));
                case "clip_i_img0_vs_rest" -> new Check(Kind.COSINE, () -> {
                    float[][] img = imageEmbeds();
                    float[] out = new float[img.length - 1];
                    for (int j = 1; j < img.length; j++) {
                        out[j - 1] = (float) DreamBoothMetrics.cosine(img[0], img[j]);
                    }
                    return out;
                });
                case "clip_i_example" -> new Check(Kind.COSINE, () -> new float[] {(float) DreamBoothMetrics
                        .meanPairwiseCosine(Arrays.copyOfRange(imageEmbeds(), 1, 4), Arrays.copyOfRange(imageEmbeds(), 0, 1))});
                case "clip_t_example" -> new Check(Kind.COSINE, () -> {
                    float[][] img = imageEmbeds();
                    float[][] txt = textEmbeds();
                    float[] out = new float[txt.length];
                    for (int k = 0; k < txt.length; k++) {
                        float[][] same = new float[img.length][];
                        Arrays.fill(same, txt[k]);
                        out[k] = (float) DreamBoothMetrics.meanMatchedCosine(img, same);
                    }
                    return out;
                });
                default -> null;
            };
        }

        Check planDino(String variant, String e) {
            String prefix = "dino." + variant;
            Matcher hidden = Pattern.compile("hidden_states\\.(\\d+)").matcher(e);
            if (hidden.matches()) {
                int i = Integer.parseInt(hidden.group(1));
                return new Check(Kind.COMPONENT, () -> flat(dinoOut(variant).hiddenStates().get(i)));
            }
            return switch (e) {
                case "pixel_values" -> new Check(Kind.PIXELS, () -> pixelValues(prefix));
                case "resized_uint8" -> new Check(Kind.LEVELS, () -> resized(prefix));
                case "last_hidden_state" -> new Check(Kind.COMPONENT, () -> flat(dinoOut(variant).lastHiddenState()));
                case "cls" -> new Check(Kind.COMPONENT, () -> flatRows(cls(variant)));
                case "cls_normalized" -> new Check(Kind.COMPONENT,
                        () -> flatRows(DreamBoothMetrics.normalized(cls(variant))));
                case "cos" -> new Check(Kind.COSINE, () -> cosines(cls(variant), cls(variant), 1));
                case "dino_example" -> new Check(Kind.COSINE, () -> new float[] {(float) DreamBoothMetrics
                        .meanPairwiseCosine(Arrays.copyOfRange(cls(variant), 1, 4), Arrays.copyOfRange(cls(variant), 0, 1))});
                default -> null;
            };
        }

        // ---- Java computations, memoized per case ----

        @SuppressWarnings("unchecked")
        <T> T memo(String key, Supplier<T> make) {
            Object v = memo.get(key);
            if (v == null) {
                v = make.get();
                memo.put(key, v);
            }
            return (T) v;
        }

        CLIPModel clip() {
            if (clip == null) {
                clip = CLIPModel.load(dir, Device.cpu());
            }
            return clip;
        }

        ViTModel dino() {
            if (dino == null) {
                dino = ViTModel.load(dir, Device.cpu());
            }
            return dino;
        }

        ImageProcessor processor(String prefix) {
            return ImageProcessor.load(prefix.equals("dino.repo") ? dir.resolve("dino_eval_preprocessor") : dir);
        }

        List<Rgb8Image> images() {
            return memo("images", () -> {
                List<Rgb8Image> out = new ArrayList<>();
                for (JsonElement f : json.getAsJsonArray("image_order")) {
                    out.add(ImageFiles.read(dir.resolve(f.getAsString())));
                }
                return out;
            });
        }

        float[] pixelValues(String prefix) {
            return flat(processor(prefix).pixelValues(images(), manager));
        }

        float[] resized(String prefix) {
            ImageProcessor p = processor(prefix);
            List<float[]> parts = new ArrayList<>();
            int total = 0;
            for (Rgb8Image img : images()) {
                Rgb8Image r = p.resizeAndCrop(img);
                float[] f = new float[r.pixels().length];
                for (int i = 0; i < f.length; i++) {
                    f[i] = r.pixels()[i] & 0xff;
                }
                parts.add(f);
                total += f.length;
            }
            float[] out = new float[total];
            int at = 0;
            for (float[] f : parts) {
                System.arraycopy(f, 0, out, at, f.length);
                at += f.length;
            }
            return out;
        }

        NDArray ref(String entry) {
            return golden.load(entry, manager, DataType.FLOAT32);
        }

        List<String> prompts() {
            List<String> out = new ArrayList<>();
            json.getAsJsonArray("prompts").forEach(p -> out.add(p.getAsString()));
            return out;
        }

        TextInputs textInputs() {
            return memo("textInputs", () -> clip().tokenize(prompts()));
        }

        CLIPTextOutput textOut() {
            return memo("textOut", () -> Autograd.noGrad(() -> clip().textModel().forward(ref("clip.input_ids"), true)));
        }

        float[][] textEmbeds() {
            return memo("textEmbeds", () -> rows(clip().projectText(textOut().pooledOutput())));
        }

        VisionOutput visionOut() {
            return memo("visionOut", () -> clip().visionForward(ref("clip.pixel_values"), true));
        }

        float[][] imageEmbeds() {
            return memo("imageEmbeds", () -> rows(clip().imageEmbeds(ref("clip.pixel_values"))));
        }

        VisionOutput dinoOut(String variant) {
            return memo("dinoOut." + variant, () -> dino().forward(ref("dino." + variant + ".pixel_values"), true));
        }

        float[][] cls(String variant) {
            return memo("cls." + variant, () -> rows(dino().clsEmbedding(ref("dino." + variant + ".pixel_values"))));
        }

        // ---- comparison ----

        void verify(String entry, Check check) {
            float[] actual = check.actual().get();
            NDArray refArray = golden.load(entry, manager, null);
            float[] ref = refArray.toType(DataType.FLOAT32, false).toFloatArray();
            String where = name + "/" + entry;
            assertEquals(ref.length, actual.length, where + ": element count (shape "
                    + Arrays.toString(refArray.getShape().getShape()) + ")");
            switch (check.kind()) {
                case EXACT -> assertArrayEquals(ref, actual, where + ": values");
                case LEVELS -> compare(where, ref, actual, 1.0);
                case COSINE -> compare(where, ref, actual, 1e-4);
                case PIXELS -> compare(where, ref, actual, 1.0 / (255 * minStd(entry)) + 1e-5);
                case COMPONENT -> compare(where, ref, actual, 1e-4 * Math.max(1, maxAbs(ref)));
                case TEXT_ROWS -> {
                    long[] shape = refArray.getShape().getShape();
                    long[] eos = textInputs().eosIndex();
                    List<Integer> keep = new ArrayList<>();
                    int rowLength = (int) shape[2];
                    for (int b = 0; b < shape[0]; b++) {
                        for (int t = 0; t <= eos[b]; t++) {
                            for (int d = 0; d < rowLength; d++) {
                                keep.add((int) ((b * shape[1] + t) * rowLength + d));
                            }
                        }
                    }
                    float[] r = new float[keep.size()];
                    float[] a = new float[keep.size()];
                    for (int i = 0; i < r.length; i++) {
                        r[i] = ref[keep.get(i)];
                        a[i] = actual[keep.get(i)];
                    }
                    compare(where + " (rows up to the EOS)", r, a, 1e-4 * Math.max(1, maxAbs(r)));
                }
                default -> fail(where + ": no comparison for " + check.kind());
            }
        }

        double minStd(String entry) {
            double[] std = processor(entry.substring(0, entry.lastIndexOf('.'))).std();
            return Math.min(std[0], Math.min(std[1], std[2]));
        }

        void verifyEndToEnd(String entry) {
            float[][] javaEmbeds;
            if (entry.equals("clip.image_embeds")) {
                try (NDManager m = manager.newSubManager()) {
                    javaEmbeds = rows(clip().imageEmbeds(processor("clip").pixelValues(images(), m)));
                }
            } else {
                String variant = entry.split("\\.")[1];
                try (NDManager m = manager.newSubManager()) {
                    javaEmbeds = rows(dino().clsEmbedding(processor("dino." + variant).pixelValues(images(), m)));
                }
            }
            float[] ref = ref(entry).toFloatArray();
            float[] a = flatRows(javaEmbeds);
            compare(name + "/" + entry + " end to end", ref, a, 1e-2 * Math.max(1, maxAbs(ref)));
        }

        static void compare(String where, float[] ref, float[] actual, double tolerance) {
            double maxDiff = 0;
            int worst = 0;
            for (int i = 0; i < ref.length; i++) {
                double d = Math.abs((double) actual[i] - ref[i]);
                if (!(d <= maxDiff)) {
                    maxDiff = d;
                    worst = i;
                }
            }
            if (!(maxDiff <= tolerance)) {
                fail(String.format("%s: max|java - ref| = %.3g > %.3g; at flat index %d java %s, ref %s", where,
                        maxDiff, tolerance, worst, actual[worst], ref[worst]));
            }
        }

        static double maxAbs(float[] v) {
            double m = 0;
            for (float x : v) {
                m = Math.max(m, Math.abs(x));
            }
            return m;
        }

        @Override
        public void close() {
            memo.values().forEach(v -> {
                if (v instanceof AutoCloseable c) {
                    try {
                        c.close();
                    } catch (Exception ignored) {
                        // closing native memory at the end of the run
                    }
                }
            });
            if (clip != null) {
                clip.close();
            }
            if (dino != null) {
                dino.close();
            }
            golden.close();
            manager.close();
        }
    }

    static float[] flat(NDArray a) {
        return a.toType(DataType.FLOAT32, false).toFloatArray();
    }

    static float[][] rows(NDArray a) {
        Shape s = a.getShape();
        float[] f = flat(a);
        float[][] out = new float[(int) s.get(0)][];
        int d = (int) s.get(1);
        for (int i = 0; i < out.length; i++) {
            out[i] = Arrays.copyOfRange(f, i * d, (i + 1) * d);
        }
        return out;
    }

    static float[] flatRows(float[][] rows) {
        float[] out = new float[rows.length * rows[0].length];
        for (int i = 0; i < rows.length; i++) {
            System.arraycopy(rows[i], 0, out, i * rows[0].length, rows[i].length);
        }
        return out;
    }

    static float[] toFloats(long[] v) {
        float[] out = new float[v.length];
        for (int i = 0; i < v.length; i++) {
            out[i] = v[i];
        }
        return out;
    }

    static float[] cosines(float[][] a, float[][] b, double factor) {
        float[] out = new float[a.length * b.length];
        for (int i = 0; i < a.length; i++) {
            for (int j = 0; j < b.length; j++) {
                out[i * b.length + j] = (float) (factor * DreamBoothMetrics.cosine(a[i], b[j]));
            }
        }
        return out;
    }

}
