package dev.selectune.training.pretrain;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.Weights;
import dev.selectune.diffusion.safetensors.SafeTensorsFile;
import dev.selectune.diffusion.safetensors.SafeTensorsWriter;
import dev.selectune.diffusion.unet.UNet2DConditionModel;
import dev.selectune.diffusion.unet.UNetConfig;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;

/**
 * A UNet whose every weight is a named FP32 leaf that records gradients: the pretraining-only way to train all of
 * it (everywhere else the UNet's weights are frozen and only a LoRA trains).
 *
 * <p>The model is built from a random weight source, which hands out one tensor per diffusers key and remembers
 * it, and the checkpoint's values are then copied into those same tensors: so each key names the exact tensor the
 * modules compute with, and saving writes them back under the same keys. The one exception are SD1.x's 1x1
 * {@code proj_in}/{@code proj_out} kernels, which {@code Transformer2DModel} holds reshaped as matrices; they come
 * from {@link UNet2DConditionModel#transformerProjections()} and are saved in their checkpoint shape.
 */
public final class TrainableUNet implements AutoCloseable {
    private final UNet2DConditionModel model;
    private final NDManager manager;
    private final Map<String, NDArray> parameters;
    private final Map<String, long[]> savedShapes;

    private TrainableUNet(UNet2DConditionModel model, NDManager manager, Map<String, NDArray> parameters,
                          Map<String, long[]> savedShapes) {
        this.model = model;
        this.manager = manager;
        this.parameters = parameters;
        this.savedShapes = savedShapes;
    }

    /** Loads {@code unetDir} (config.json and diffusion_pytorch_model.safetensors) as trainable FP32 parameters. */
    public static TrainableUNet load(Path unetDir, NDManager parent) {
        UNetConfig config = UNetConfig.load(unetDir);
        NDManager manager = parent.newSubManager();
        try (Weights source = Weights.random(manager, DataType.FLOAT32);
             SafeTensorsFile file = SafeTensorsFile.open(unetDir.resolve("diffusion_pytorch_model.safetensors"));
             NDManager scratch = manager.newSubManager()) {
            UNet2DConditionModel model = UNet2DConditionModel.build(config, source);
            Map<String, Linear> reshaped = model.transformerProjections();
            Map<String, NDArray> params = new LinkedHashMap<>();
            Map<String, long[]> shapes = new LinkedHashMap<>();
            for (Map.Entry<String, NDArray> e : source.madeTensors().entrySet()) {
                String key = e.getKey();
                Linear projection = key.endsWith(".weight")
                        ? reshaped.get(key.substring(0, key.length() - ".weight".length())) : null;
                // proj_in/proj_out: the module computes with the (out, in) matrix, not the 1x1 kernel it was made as.
                NDArray tensor = projection != null ? projection.weight() : e.getValue();
                if (!file.contains(key)) {
                    throw new IllegalArgumentException(file.path() + ": missing weight '" + key + "'");
                }
                long[] shape = file.info(key).shape();
                NDArray values = file.load(key, scratch, DataType.FLOAT32);
                if (values.size() != tensor.size()
                        || projection == null && !tensor.getShape().equals(values.getShape())) {
                    throw new IllegalArgumentException(file.path() + ": weight '" + key + "' has shape "
                            + values.getShape() + " but the config needs " + tensor.getShape());
                }
                Autograd.noGrad(() -> tensor.set(values.toFloatArray()));
                params.put(key, tensor);
                shapes.put(key, shape);
            }
            List<String> unused = file.tensors().keySet().stream().filter(k -> !params.containsKey(k)).toList();
            if (!unused.isEmpty()) {
                throw new IllegalArgumentException(file.path() + ": " + unused.size() + " weight(s) the model built "
                        + "from its config does not use, e.g. '" + unused.get(0) + "'");
            }
            params.values().forEach(p -> p.setRequiresGradient(true));
            return new TrainableUNet(model, manager, Collections.unmodifiableMap(params), shapes);
        } catch (RuntimeException e) {
            manager.close();
            throw e;
        }
    }

    public UNet2DConditionModel model() {
        return model;
    }

    /** Every weight by diffusers key, in module order. */
    public Map<String, NDArray> parameters() {
        return parameters;
    }

    public List<NDArray> parameterList() {
        return new ArrayList<>(parameters.values());
    }

    public long parameterCount() {
        return parameters.values().stream().mapToLong(NDArray::size).sum();
    }

    /** The accumulated gradients, one per parameter (zeros where the backward did not reach), each to be closed. */
    public List<NDArray> gradients() {
        List<NDArray> out = new ArrayList<>();
        for (NDArray p : parameters.values()) {
            NDArray g = Autograd.gradientOrNull(p);
            out.add(g != null ? g : p.getManager().zeros(p.getShape(), DataType.FLOAT32));
        }
        return out;
    }

    public void zeroGradients() {
        parameters.values().forEach(p -> {
            if (p.hasGradient()) {
                Autograd.zeroGradient(p);
            }
        });
    }

    /** Writes {@code diffusion_pytorch_model.safetensors}: every key in its checkpoint shape, FP32. */
    public void save(Path file) {
        try (NDManager scratch = manager.newSubManager()) {
            SafeTensorsWriter writer = new SafeTensorsWriter();
            for (Map.Entry<String, NDArray> e : parameters.entrySet()) {
                NDArray copy = Autograd.noGrad(() -> e.getValue().duplicate().reshape(savedShapes.get(e.getKey())));
                copy.attach(scratch);
                writer.put(e.getKey(), copy);
            }
            writer.write(file);
        }
    }

    /** The keys, sorted (tests compare them with a checkpoint's). */
    public Set<String> keys() {
        return new TreeSet<>(parameters.keySet());
    }

    @Override
    public void close() {
        manager.close();
    }
}
