package dev.selectune.diffusion.lora;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import com.google.gson.JsonArray;
import com.google.gson.JsonElement;
import com.google.gson.JsonObject;
import com.google.gson.JsonParser;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.unet.UNet2DConditionModel;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Rank-r LoRA adapters on every attention projection ({@code to_q}, {@code to_k}, {@code to_v}, {@code to_out.0}
 * of attn1 and attn2, down/mid/up) of a UNet, with their files in the PEFT, legacy diffusers and kohya namings.
 *
 * <p>The FLOAT32 masters live in a manager this network owns; {@link #close()} detaches the adapters from the UNet
 * and frees them. Modules and parameters are always in the UNet's module order, so optimizer state and MeZO
 * perturbations line up across runs.
 */
public final class LoraNetwork implements AutoCloseable {
    /** The modules diffusers' DreamBooth-LoRA targets, as written in the file metadata. */
    public static final String TARGET_MODULES = "to_q,to_k,to_v,to_out.0";
    /** diffusers' {@code LORA_ADAPTER_METADATA_KEY}: the safetensors metadata entry holding the PEFT LoraConfig. */
    public static final String DIFFUSERS_ADAPTER_METADATA = "lora_adapter_metadata";

    private static final Pattern PEFT = Pattern.compile("^(?:unet\\.)?(.+)\\.lora_([AB])\\.weight$");
    private static final Pattern LEGACY = Pattern.compile("^(?:unet\\.)?(.+)\\.lora\\.(down|up)\\.weight$");
    private static final Pattern ATTN_PROCS = Pattern.compile("^(?:unet\\.)?(.+)\\.processor\\.(to_q|to_k|to_v|to_out)_lora\\.(down|up)\\.weight$");
    private static final Pattern KOHYA = Pattern.compile("^lora_unet_(.+)\\.(lora_down\\.weight|lora_up\\.weight|alpha)$");

    private final NDManager manager;
    private final Map<String, Linear> targets;
    private final Map<String, LoraAdapter> adapters;
    private final LoraParameters parameters;

    private LoraNetwork(NDManager manager, Map<String, Linear> targets, Map<String, LoraAdapter> adapters,
                        boolean attach) {
        this.manager = manager;
        this.targets = targets;
        this.adapters = Collections.unmodifiableMap(adapters);
        this.parameters = new LoraParameters(new ArrayList<>(adapters.values()));
        if (attach) {
            attach();
        }
    }

    /**
     * New adapters initialised like PEFT: A (lora_down) kaiming-uniform with a = sqrt(5), i.e. uniform in
     * +-1/sqrt(in), drawn from a Java generator seeded with {@code seed} in module order (deterministic, unlike
     * torch's global RNG); B (lora_up) zeros, so the UNet's output is unchanged until B trains.
     */
    public static LoraNetwork create(UNet2DConditionModel unet, int rank, float alpha, long seed, NDManager parent) {
        if (rank <= 0) {
            throw new IllegalArgumentException("LoRA rank must be positive, got " + rank);
        }
        NDManager manager = parent.newSubManager();
        SplittableRandom random = new SplittableRandom(seed);
        Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
        Autograd.noGrad(() -> {
            for (Map.Entry<String, Linear> e : unet.attentionProjections().entrySet()) {
                Linear linear = e.getValue();
                int in = Math.toIntExact(linear.inFeatures());
                float bound = (float) (1.0 / Math.sqrt(in));
                float[] down = new float[rank * in];
                for (int i = 0; i < down.length; i++) {
                    down[i] = (float) random.nextDouble(-bound, bound);
                }
                NDArray a = manager.create(down, new Shape(rank, in));
                NDArray b = manager.zeros(new Shape(linear.outFeatures(), rank), DataType.FLOAT32);
                adapters.put(e.getKey(), new LoraAdapter(e.getKey(), rank, alpha, a, b, unet.dataType()));
            }
        });
        return new LoraNetwork(manager, new LinkedHashMap<>(unet.attentionProjections()), adapters, true);
    }

    /**
     * Loads a LoRA file in any of the {@link LoraFormat}s (inferred from the keys) and attaches it to {@code unet}.
     * Every key must name an attention projection of this UNet with shapes that fit it; anything else (another
     * module, a text encoder LoRA, a half pair, a wrong shape) fails here, naming the file and the key.
     */
    public static LoraNetwork load(Path file, UNet2DConditionModel unet, NDManager parent) {
        return read(file, unet, parent, true);
    }

    /**
     * As {@link #load}, checked against {@code unet} but not attached to it: for {@link LoraAdapters}, which
     * composes several networks on one UNet.
     */
    public static LoraNetwork read(Path file, UNet2DConditionModel unet, NDManager parent) {
        return read(file, unet, parent, false);
    }

    private static LoraNetwork read(Path file, UNet2DConditionModel unet, NDManager parent, boolean attach) {
        try (SafeTensorsFile f = SafeTensorsFile.open(file)) {
            Map<String, Linear> targets = unet.attentionProjections();
            Map<String, String> kohyaNames = new HashMap<>();
            targets.keySet().forEach(p -> kohyaNames.put(p.replace('.', '_'), p));
            float defaultAlpha = metadataAlpha(file, f.metadata());
            Map<String, String[]> pairs = new LinkedHashMap<>();
            Map<String, String> alphas = new HashMap<>();
            for (String key : f.tensors().keySet()) {
                Matcher m;
                String path;
                boolean isDown;
                if ((m = PEFT.matcher(key)).matches()) {
                    path = m.group(1);
                    isDown = m.group(2).equals("A");
                } else if ((m = ATTN_PROCS.matcher(key)).matches()) {
                    String proj = m.group(2).equals("to_out") ? "to_out.0" : m.group(2);
                    path = m.group(1) + "." + proj;
                    isDown = m.group(3).equals("down");
                } else if ((m = LEGACY.matcher(key)).matches()) {
                    path = m.group(1);
                    isDown = m.group(2).equals("down");
                } else if ((m = KOHYA.matcher(key)).matches()) {
                    path = kohyaNames.get(m.group(1));
                    if (path == null) {
                        throw new LoraException(file + ": key '" + key + "' names no attention projection of this UNet");
                    }
                    if (m.group(2).equals("alpha")) {
                        alphas.put(path, key);
                        continue;
                    }
                    isDown = m.group(2).startsWith("lora_down");
                } else {
                    throw new LoraException(file + ": key '" + key + "' is not a UNet LoRA weight in the PEFT, "
                            + "diffusers or kohya naming (text encoder LoRAs are not supported)");
                }
                if (!targets.containsKey(path)) {
                    throw new LoraException(file + ": key '" + key + "' names '" + path
                            + "', which is not an attention projection of this UNet");
                }
                String[] pair = pairs.computeIfAbsent(path, p -> new String[2]);
                pair[isDown ? 0 : 1] = key;
            }
            if (pairs.isEmpty()) {
                throw new LoraException(file + ": no LoRA weights");
            }
            NDManager manager = parent.newSubManager();
            try {
                Map<String, LoraAdapter> adapters = new LinkedHashMap<>();
                for (String path : targets.keySet()) {
                    String[] pair = pairs.get(path);
                    if (pair == null) {
                        continue;
                    }
                    if (pair[0] == null || pair[1] == null) {
                        throw new LoraException(file + ": key '" + (pair[0] != null ? pair[0] : pair[1])
                                + "' has no matching " + (pair[0] == null ? "down (A)" : "up (B)") + " weight");
                    }
                    Linear linear = targets.get(path);
                    long[] down = f.info(pair[0]).shape();
                    long[] up = f.info(pair[1]).shape();
                    if (down.length != 2 || down[1] != linear.inFeatures()) {
                        throw new LoraException(file + ": key '" + pair[0] + "' has shape " + Arrays.toString(down)
                                + " but " + path + " needs (rank, " + linear.inFeatures() + ")");
                    }
                    int rank = Math.toIntExact(down[0]);
                    if (up.length != 2 || up[0] != linear.outFeatures() || up[1] != rank) {
                        throw new LoraException(file + ": key '" + pair[1] + "' has shape " + Arrays.toString(up)
                                + " but " + path + " needs (" + linear.outFeatures() + ", " + rank + ")");
                    }
                    float alpha = Float.isNaN(defaultAlpha) ? rank : defaultAlpha;
                    String alphaKey = alphas.get(path);
                    if (alphaKey != null) {
                        alpha = Autograd.noGrad(() -> {
                            try (NDArray a = f.load(alphaKey, manager, DataType.FLOAT32)) {
                                if (a.size() != 1) {
                                    throw new LoraException(file + ": key '" + alphaKey + "' must be a scalar, has shape "
                                            + a.getShape());
                                }
                                return a.toFloatArray()[0];
                            }
                        });
                    }
                    NDArray a = f.load(pair[0], manager, DataType.FLOAT32);
                    NDArray b = f.load(pair[1], manager, DataType.FLOAT32);
                    adapters.put(path, new LoraAdapter(path, rank, alpha, a, b, unet.dataType()));
                }
                return new LoraNetwork(manager, new LinkedHashMap<>(targets), adapters, attach);
            } catch (RuntimeException e) {
                manager.close();
                throw e;
            }
        }
    }

    /**
     * The alpha a file's metadata gives every module: ours ({@code lora_alpha}), else diffusers' LoraConfig
     * ({@code unet.lora_alpha} in {@code lora_adapter_metadata}, where diffusers' own saves keep B as trained), else
     * NaN (alpha = rank, unless the file has kohya {@code .alpha} keys).
     */
    private static float metadataAlpha(Path file, Map<String, String> metadata) {
        String value = metadata.get("lora_alpha");
        String where = "metadata lora_alpha";
        if (value == null && metadata.containsKey(DIFFUSERS_ADAPTER_METADATA)) {
            where = "metadata " + DIFFUSERS_ADAPTER_METADATA + " unet.lora_alpha";
            try {
                JsonElement alpha = JsonParser.parseString(metadata.get(DIFFUSERS_ADAPTER_METADATA)).getAsJsonObject()
                        .get("unet.lora_alpha");
                value = alpha == null ? null : alpha.getAsString();
            } catch (RuntimeException e) {
                throw new LoraException(file + ": metadata " + DIFFUSERS_ADAPTER_METADATA + " is not a JSON object: "
                        + e.getMessage());
            }
        }
        if (value == null) {
            return Float.NaN;
        }
        try {
            return Float.parseFloat(value);
        } catch (NumberFormatException e) {
            throw new LoraException(file + ": " + where + " '" + value + "' is not a number");
        }
    }

    /**
     * Writes the adapters in {@code format}; the metadata records rank, alpha and the target modules.
     *
     * <p>diffusers takes a LoRA's strength from {@code lora_adapter_metadata} (since 0.35) or from {@code .alpha}
     * keys, never from our own {@code lora_alpha}, and 0.27 reads no metadata at all: given B as trained it would
     * apply 1 instead of alpha / r. So the two diffusers namings carry B * alpha / r and record alpha = r (also as
     * PEFT's LoraConfig in {@code lora_adapter_metadata}), which every reader, ours included, applies as scale 1;
     * {@code trained_lora_alpha} keeps the alpha the job used. The kohya naming keeps B and a per-module alpha,
     * which kohya's readers (AUTOMATIC1111, ComfyUI) apply.
     */
    public void save(Path file, LoraFormat format) {
        SafeTensorsWriter writer = new SafeTensorsWriter();
        LoraAdapter first = adapters.values().iterator().next();
        boolean fold = format != LoraFormat.KOHYA;
        writer.metadata("format", "pt");
        writer.metadata("lora_rank", Integer.toString(first.rank()));
        writer.metadata("lora_alpha", formatAlpha(fold ? first.rank() : first.alpha()));
        writer.metadata("target_modules", TARGET_MODULES);
        if (fold) {
            writer.metadata("trained_lora_alpha", formatAlpha(first.alpha()));
        }
        if (format == LoraFormat.PEFT) {
            writer.metadata(DIFFUSERS_ADAPTER_METADATA, diffusersAdapterMetadata(first.rank()));
        }
        if (format == LoraFormat.KOHYA) {
            // What kohya's sd-scripts record; AUTOMATIC1111 and ComfyUI show these.
            writer.metadata("ss_network_module", "networks.lora");
            writer.metadata("ss_network_dim", Integer.toString(first.rank()));
            writer.metadata("ss_network_alpha", formatAlpha(first.alpha()));
        }
        List<NDArray> owned = new ArrayList<>();
        try {
            for (LoraAdapter a : adapters.values()) {
                String path = a.modulePath();
                NDArray up = a.up();
                float scale = a.alpha() / a.rank();
                if (fold && scale != 1f) {
                    up = Autograd.noGrad(() -> a.up().mul(scale));
                    owned.add(up);
                }
                switch (format) {
                    case PEFT -> {
                        writer.put("unet." + path + ".lora_A.weight", a.down());
                        writer.put("unet." + path + ".lora_B.weight", up);
                    }
                    case DIFFUSERS_LEGACY -> {
                        writer.put("unet." + path + ".lora.down.weight", a.down());
                        writer.put("unet." + path + ".lora.up.weight", up);
                    }
                    case KOHYA -> {
                        String name = "lora_unet_" + path.replace('.', '_');
                        writer.put(name + ".lora_down.weight", a.down());
                        writer.put(name + ".lora_up.weight", up);
                        NDArray alpha = manager.create(a.alpha());
                        owned.add(alpha);
                        writer.put(name + ".alpha", alpha);
                    }
                }
            }
            writer.write(file);
        } finally {
            owned.forEach(NDArray::close);
        }
    }

    /**
     * PEFT's LoraConfig of these adapters, as diffusers' {@code save_lora_weights} stores it (keys prefixed with the
     * component, JSON with sorted keys). Only fields every PEFT version knows: diffusers builds
     * {@code LoraConfig(**metadata)}, which fails on an unknown one.
     */
    static String diffusersAdapterMetadata(int rank) {
        JsonArray modules = new JsonArray();
        Arrays.stream(TARGET_MODULES.split(",")).sorted().forEach(modules::add);
        JsonObject config = new JsonObject();
        config.addProperty("unet.init_lora_weights", "gaussian");
        config.addProperty("unet.lora_alpha", rank);
        config.addProperty("unet.lora_dropout", 0.0);
        config.addProperty("unet.r", rank);
        config.add("unet.target_modules", modules);
        return config.toString();
    }

    private static String formatAlpha(float alpha) {
        return alpha == Math.rint(alpha) ? Integer.toString((int) alpha) : Float.toString(alpha);
    }

    /** The adapters by module path, in module order. */
    public Map<String, LoraAdapter> adapters() {
        return adapters;
    }

    /** The adapters' trainable tensors, in module order. */
    public LoraParameters parameters() {
        return parameters;
    }

    /** The user's strength at inference (1 = as trained, 0 = base model). */
    public void setScale(float scale) {
        adapters.values().forEach(a -> a.setUserScale(scale));
    }

    /** Puts each adapter on its layer (replacing whatever adapter the layer had). */
    public void attach() {
        adapters.forEach((path, a) -> targets.get(path).setAdapter(a));
    }

    /** Removes the adapters from the UNet, which computes its base output again. */
    public void detach() {
        adapters.forEach((path, a) -> {
            Linear l = targets.get(path);
            if (l.adapter() == a) {
                l.setAdapter(null);
            }
        });
    }

    @Override
    public void close() {
        detach();
        manager.close();
    }
}
