package dev.selectune.training;

import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import com.google.gson.Gson;
import com.google.gson.reflect.TypeToken;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.safetensors.TensorInfo;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * A resumable training state as one blob: a safetensors file whose tensors are the LoRA masters
 * ({@code lora.<name>}) and AdamW's moments ({@code adam.exp_avg.<name>}, {@code adam.exp_avg_sq.<name>}), and
 * whose metadata holds the step, the seed (the job's generator is counter-based, see
 * {@link dev.selectune.util.StepRandom}, so seed and step are its whole state), AdamW's step count, the job
 * it belongs to (a {@link JobFingerprint}, as JSON), and the per-step series so far (so the final metrics file is complete).
 * Values are stored as exact FP32 bits: a resumed job continues bit for bit.
 */
public record TrainingCheckpoint(int step, long seed, String jobFingerprint, int adamSteps,
                                 Map<String, float[]> lora, Map<String, float[]> adamFirst,
                                 Map<String, float[]> adamSecond, Map<String, long[]> shapes,
                                 List<StepReport> history) {

    public static final String FORMAT = "selectune-checkpoint/1";
    private static final Gson GSON = new Gson();

    /** This checkpoint as if written for the job {@code encodedFingerprint} ({@link JobFingerprint#encode}). */
    public TrainingCheckpoint withJobFingerprint(String encodedFingerprint) {
        return new TrainingCheckpoint(step, seed, encodedFingerprint, adamSteps, lora, adamFirst, adamSecond, shapes,
                history);
    }

    public byte[] encode() {
        SafeTensorsWriter writer = new SafeTensorsWriter();
        try (NDManager manager = NDManager.newBaseManager("PyTorch")) {
            for (String name : lora.keySet()) {
                Shape shape = new Shape(shapes.get(name));
                writer.put("lora." + name, manager.create(lora.get(name), shape));
                writer.put("adam.exp_avg." + name, manager.create(adamFirst.get(name), shape));
                writer.put("adam.exp_avg_sq." + name, manager.create(adamSecond.get(name), shape));
            }
            writer.metadata("format", FORMAT)
                    .metadata("step", Integer.toString(step))
                    .metadata("seed", Long.toString(seed))
                    .metadata("job", jobFingerprint)
                    .metadata("adam_steps", Integer.toString(adamSteps))
                    .metadata("history", GSON.toJson(history));
            return writer.toBytes();
        }
    }

    /** Reads a blob {@link #encode()} wrote; a blob of another format fails with IllegalArgumentException. */
    public static TrainingCheckpoint decode(byte[] blob) {
        Path tmp = null;
        try {
            tmp = Files.createTempFile("selectune-checkpoint", ".safetensors");
            Files.write(tmp, blob);
            try (SafeTensorsFile file = SafeTensorsFile.open(tmp)) {
                Map<String, String> meta = file.metadata();
                if (!FORMAT.equals(meta.get("format"))) {
                    throw new IllegalArgumentException("checkpoint: not a " + FORMAT + " blob (format "
                            + meta.get("format") + ")");
                }
                Map<String, float[]> lora = new LinkedHashMap<>();
                Map<String, float[]> first = new LinkedHashMap<>();
                Map<String, float[]> second = new LinkedHashMap<>();
                Map<String, long[]> shapes = new LinkedHashMap<>();
                for (Map.Entry<String, TensorInfo> e : file.tensors().entrySet()) {
                    String key = e.getKey();
                    float[] values = floats(file, key);
                    if (key.startsWith("lora.")) {
                        String name = key.substring("lora.".length());
                        lora.put(name, values);
                        shapes.put(name, e.getValue().shape());
                    } else if (key.startsWith("adam.exp_avg_sq.")) {
                        second.put(key.substring("adam.exp_avg_sq.".length()), values);
                    } else if (key.startsWith("adam.exp_avg.")) {
                        first.put(key.substring("adam.exp_avg.".length()), values);
                    } else {
                        throw new IllegalArgumentException("checkpoint: unexpected tensor '" + key + "'");
                    }
                }
                List<StepReport> history = GSON.fromJson(meta.get("history"),
                        new TypeToken<ArrayList<StepReport>>() { }.getType());
                return new TrainingCheckpoint(Integer.parseInt(meta.get("step")), Long.parseLong(meta.get("seed")),
                        meta.get("job"), Integer.parseInt(meta.get("adam_steps")), lora, first, second, shapes,
                        history == null ? List.of() : history);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("checkpoint: cannot stage the blob: " + e.getMessage(), e);
        } catch (RuntimeException e) {
            if (e instanceof IllegalArgumentException) {
                throw e;
            }
            throw new IllegalArgumentException("checkpoint: unreadable blob: " + e.getMessage(), e);
        } finally {
            if (tmp != null) {
                try {
                    Files.deleteIfExists(tmp);
                } catch (IOException ignored) {
                    // a stray temp file is harmless
                }
            }
        }
    }

    private static float[] floats(SafeTensorsFile file, String key) {
        TensorInfo info = file.info(key);
        if (!"F32".equals(info.dtype())) {
            throw new IllegalArgumentException("checkpoint: tensor '" + key + "' is " + info.dtype() + ", expected F32");
        }
        java.nio.FloatBuffer buf = file.bytes(key).asFloatBuffer();
        float[] out = new float[buf.remaining()];
        buf.get(out);
        return out;
    }
}
