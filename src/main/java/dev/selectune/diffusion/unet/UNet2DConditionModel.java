package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDArrays;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.DataType;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.PipelineException;
import dev.selectune.diffusion.models.Attention;
import dev.selectune.diffusion.models.BasicTransformerBlock;
import dev.selectune.diffusion.models.TimestepEmbedding;
import dev.selectune.diffusion.models.Timesteps;
import dev.selectune.diffusion.models.Transformer2DModel;
import dev.selectune.diffusion.nn.Activations;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Conv2d;
import dev.selectune.diffusion.nn.GroupNorm;
import dev.selectune.diffusion.nn.Linear;
import dev.selectune.diffusion.nn.MemoryFormat;
import dev.selectune.diffusion.nn.Precision;
import dev.selectune.diffusion.nn.Scopes;
import dev.selectune.diffusion.nn.Weights;

import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * diffusers 0.27's {@code UNet2DConditionModel} for SD1.x, SD2.x, SDXL and SSD-1B, built from its config.json and
 * the diffusers weight names.
 *
 * <p>After the time embedding, the model is an ordered list of {@link UNetSegment}s ({@link #segments()}: {@code
 * conv_in}, each resnet, each transformer's projections and blocks, each down- and upsampler, the output head) whose
 * saved states are the skip connections; the forward runs the list, and {@link #lossAndBackward} can checkpoint it
 * segment by segment for training.
 */
public final class UNet2DConditionModel {
    private final UNetConfig config;
    private final DataType dtype;
    private final Timesteps timeProj;
    private final TimestepEmbedding timeEmbedding;
    private final Timesteps addTimeProj;
    private final TimestepEmbedding addEmbedding;
    private final Conv2d convIn;
    private final List<DownBlock> downBlocks;
    private final UNetMidBlock2DCrossAttn midBlock;
    private final List<UpBlock> upBlocks;
    private final GroupNorm convNormOut;
    private final Conv2d convOut;
    private final Map<String, Linear> attentionProjections;
    private final UNetSegments segments;
    private final boolean weightsHeldInOtherType;

    private UNet2DConditionModel(UNetConfig config, Weights w) {
        this.config = config;
        this.dtype = w.dtype();
        this.weightsHeldInOtherType = w.precision().holdsOtherType();
        int c0 = config.blockOutChannels()[0];
        int temb = config.timeEmbedDim();
        timeProj = new Timesteps(c0, config.flipSinToCos(), config.freqShift());
        timeEmbedding = TimestepEmbedding.load(w.child("time_embedding"), c0, temb, "silu");
        if (config.hasTextTimeEmbedding()) {
            addTimeProj = new Timesteps(config.additionTimeEmbedDim(), config.flipSinToCos(), config.freqShift());
            addEmbedding = TimestepEmbedding.load(w.child("add_embedding"), config.projectionClassEmbeddingsInputDim(),
                    temb, "silu");
        } else {
            addTimeProj = null;
            addEmbedding = null;
        }
        convIn = Conv2d.load(w.child("conv_in"), config.inChannels(), c0, config.convInKernel(), 1,
                (config.convInKernel() - 1) / 2);

        int levels = config.levels();
        int[] ch = config.blockOutChannels();
        List<DownBlock> down = new ArrayList<>();
        long out = c0;
        for (int i = 0; i < levels; i++) {
            long in = out;
            out = ch[i];
            boolean last = i == levels - 1;
            Weights bw = w.child("down_blocks").child(i);
            down.add(config.downBlockTypes().get(i).equals("CrossAttnDownBlock2D")
                    ? CrossAttnDownBlock2D.load(bw, config, i, in, out, !last)
                    : DownBlock2D.load(bw, config, i, in, out, !last));
        }
        downBlocks = Collections.unmodifiableList(down);
        midBlock = UNetMidBlock2DCrossAttn.load(w.child("mid_block"), config);

        List<UpBlock> up = new ArrayList<>();
        long upOut = ch[levels - 1];
        for (int i = 0; i < levels; i++) {
            long prev = upOut;
            upOut = ch[levels - 1 - i];
            long in = ch[Math.max(levels - 2 - i, 0)];
            boolean last = i == levels - 1;
            Weights bw = w.child("up_blocks").child(i);
            up.add(config.upBlockTypes().get(i).equals("CrossAttnUpBlock2D")
                    ? CrossAttnUpBlock2D.load(bw, config, i, in, upOut, prev, !last)
                    : UpBlock2D.load(bw, config, i, in, upOut, prev, !last));
        }
        upBlocks = Collections.unmodifiableList(up);
        convNormOut = GroupNorm.load(w.child("conv_norm_out"), config.normNumGroups(), c0, config.normEps());
        convOut = Conv2d.load(w.child("conv_out"), c0, config.outChannels(), config.convOutKernel(), 1,
                (config.convOutKernel() - 1) / 2);
        attentionProjections = collectProjections();
        segments = new UNetSegments(layout());
    }

    /** The forward after the time embedding, in execution order; the saved states are the skip connections. */
    private List<UNetSegment> layout() {
        List<UNetSegment> out = new ArrayList<>();
        out.add(UNetSegment.of("conv_in", in -> inputConv(in.hidden())).savingOutput().tapped("conv_in"));
        for (int i = 0; i < downBlocks.size(); i++) {
            out.addAll(UNetSegment.tapLast(downBlocks.get(i).segments("down_blocks." + i), "down_blocks." + i));
        }
        out.addAll(UNetSegment.tapLast(midBlock.segments("mid_block"), "mid_block"));
        for (int i = 0; i < upBlocks.size(); i++) {
            out.addAll(UNetSegment.tapLast(upBlocks.get(i).segments("up_blocks." + i), "up_blocks." + i));
        }
        out.add(UNetSegment.of("conv_norm_out", in -> convNormOut.forward(in.hidden())).tapped("conv_norm_out"));
        out.add(UNetSegment.of("conv_out", in -> convOut.forward(Activations.silu(in.hidden()))));
        return out;
    }

    /** The segments the forward runs after the time embedding, in order (their paths name the modules). */
    public List<UNetSegment> segments() {
        return segments.list();
    }

    /** Loads {@code unetDir/config.json} and its weights; any missing, misshapen or unused weight fails here. */
    public static UNet2DConditionModel load(Path unetDir, NDManager manager, DataType dtype) {
        return load(unetDir, manager, Precision.of(dtype));
    }

    /** As {@link #load(Path, NDManager, DataType)}, with the weights held as {@code precision} says. */
    public static UNet2DConditionModel load(Path unetDir, NDManager manager, Precision precision) {
        UNetConfig config = UNetConfig.load(unetDir);
        try (Weights w = Weights.open(unetDir, "diffusion_pytorch_model", manager, precision)) {
            UNet2DConditionModel model = Autograd.noGrad(() -> new UNet2DConditionModel(config, w));
            w.requireAllUsed();
            return model;
        }
    }

    /** A model of the given config with random weights (benchmarks of the full-size presets). */
    public static UNet2DConditionModel random(UNetConfig config, NDManager manager, DataType dtype) {
        return random(config, manager, Precision.of(dtype));
    }

    /** Random weights held as {@code precision} says. */
    public static UNet2DConditionModel random(UNetConfig config, NDManager manager, Precision precision) {
        try (Weights w = Weights.random(manager, precision)) {
            return build(config, w);
        }
    }

    /** Builds the model from open weights (e.g. a random source whose tensors a test then saves as a checkpoint). */
    public static UNet2DConditionModel build(UNetConfig config, Weights w) {
        return Autograd.noGrad(() -> new UNet2DConditionModel(config, w));
    }

    public UNetConfig config() {
        return config;
    }

    public DataType dataType() {
        return dtype;
    }

    /**
     * The attention projections a LoRA attaches to, by module path
     * ({@code down_blocks.0.attentions.0.transformer_blocks.0.attn1.to_q}, ...), in module order.
     */
    public Map<String, Linear> attentionProjections() {
        return attentionProjections;
    }

    /**
     * Every Transformer2DModel's {@code proj_in} and {@code proj_out} by module path, in module order: with
     * {@link #attentionProjections()} and the loaded weights, everything full-parameter training needs to reach.
     */
    public Map<String, Linear> transformerProjections() {
        Map<String, Linear> out = new LinkedHashMap<>();
        for (Transformer2DModel t : transformers()) {
            t.projections().forEach(l -> out.put(l.path(), l));
        }
        return Collections.unmodifiableMap(out);
    }

    private List<Transformer2DModel> transformers() {
        List<Transformer2DModel> all = new ArrayList<>();
        downBlocks.forEach(b -> all.addAll(b.attentions()));
        all.addAll(midBlock.attentions());
        upBlocks.forEach(b -> all.addAll(b.attentions()));
        return all;
    }

    private Map<String, Linear> collectProjections() {
        Map<String, Linear> out = new LinkedHashMap<>();
        for (Transformer2DModel t : transformers()) {
            for (BasicTransformerBlock block : t.transformerBlocks()) {
                for (Attention a : block.attentions()) {
                    for (Linear l : a.projections()) {
                        out.put(l.path(), l);
                    }
                }
            }
        }
        return Collections.unmodifiableMap(out);
    }

    /**
     * @param sample              (B, in_channels, H, W), H and W multiples of nothing in particular
     * @param timestep            (B) or a single timestep, integer or float
     * @param encoderHiddenStates (B, M, cross_attention_dim)
     * @param added               SDXL's text_time conditions, or null
     * @return (B, out_channels, H, W)
     */
    public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates, AddedConditions added) {
        return forward(sample, timestep, encoderHiddenStates, added, null);
    }

    /**
     * As {@link #forward(NDArray, NDArray, NDArray, AddedConditions)}, handing intermediate tensors to {@code tap}
     * ({@code time_proj}, {@code time_embedding}, {@code conv_in}, {@code down_blocks.i}, {@code mid_block},
     * {@code up_blocks.i}, {@code conv_norm_out}). A tapped tensor is freed once the forward no longer needs it: a tap
     * that keeps it must copy it and {@code NDScope.unregister} the copy.
     */
    public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates, AddedConditions added,
                           BiConsumer<String, NDArray> tap) {
        return Scopes.run(() -> {
            NDArray temb = embedTime(sample, timestep, added, tap);
            // Returned row-major, as diffusers returns it, whatever layout the convolutions ran in.
            return MemoryFormat.contiguous(segments.forward(sample, temb, encoderHiddenStates, tap));
        });
    }

    private static void emit(BiConsumer<String, NDArray> tap, String name, NDArray value) {
        if (tap != null) {
            tap.accept(name, value);
        }
    }

    /** The time embedding (plus SDXL's text_time embedding), in the model's dtype. No trainable part. */
    private NDArray embedTime(NDArray sample, NDArray timestep, AddedConditions added, BiConsumer<String, NDArray> tap) {
        return Scopes.run(() -> {
            long batch = sample.getShape().get(0);
            NDArray t = timestep.getShape().dimension() == 0 ? timestep.reshape(1) : timestep;
            if (t.size() == 1 && batch > 1) {
                t = t.repeat(0, batch);
            }
            NDArray proj = timeProj.forward(t);
            emit(tap, "time_proj", proj);
            NDArray emb = timeEmbedding.forward(proj.toType(dtype, false));
            emit(tap, "time_embedding", emb);
            if (addEmbedding != null) {
                if (added == null || added.textEmbeds() == null || added.timeIds() == null) {
                    throw new IllegalArgumentException(config.source() + ": addition_embed_type text_time needs "
                            + "text_embeds and time_ids");
                }
                NDArray timeIds = added.timeIds();
                NDArray timeEmbeds = addTimeProj.forward(timeIds.flatten()).reshape(timeIds.getShape().get(0), -1);
                emit(tap, "add_time_proj", timeEmbeds);
                NDArray addEmbeds = NDArrays.concat(new NDList(added.textEmbeds().toType(dtype, false),
                        timeEmbeds.toType(dtype, false)), -1);
                NDArray textTime = addEmbedding.forward(addEmbeds);
                emit(tap, "add_embedding", textTime);
                emb = emb.add(textTime);
            }
            return emb;
        });
    }

    private NDArray inputConv(NDArray sample) {
        if (!config.centerInputSample()) {
            return convIn.forward(sample);
        }
        return Scopes.run(() -> convIn.forward(sample.mul(2).sub(1)));
    }

    /**
     * One training step's forward and backward into every tensor that requires a gradient (the LoRA), returning the
     * loss. Checkpointed (see {@link #checkpointsBackward}), the forward runs without a graph, keeping only each
     * segment's input, and each segment is re-run with a graph during the backward, last first: peak memory is one
     * segment's graph instead of the whole UNet's. LoRA gradients accumulate into the same leaves as a plain backward.
     *
     * @param lossOfOutput the scalar loss of the UNet output (e.g. MSE against the target)
     * @param checkpointed ask for the checkpointed backward (weights held in another dtype always get it)
     */
    public NDArray lossAndBackward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates,
                                   AddedConditions added, Function<NDArray, NDArray> lossOfOutput,
                                   boolean checkpointed) {
        if (!checkpointsBackward(checkpointed)) {
            return Autograd.withGrad(() -> {
                NDArray loss = Scopes.run(() -> lossOfOutput.apply(forward(sample, timestep, encoderHiddenStates, added)));
                Autograd.backward(loss);
                return loss;
            });
        }
        NDArray temb = Autograd.noGrad(() -> embedTime(sample, timestep, added, null));
        try {
            return segments.lossAndBackward(sample, temb, encoderHiddenStates, lossOfOutput);
        } finally {
            temb.close();
        }
    }

    /**
     * Whether {@link #lossAndBackward} checkpoints: when asked, and always when the frozen weights are held in another
     * dtype than they compute in (fp16 on the CPU). A plain graph keeps, for every frozen matmul or convolution on
     * the gradient's path, the compute-dtype copy of its weight (the activations' gradient needs it), so a plain
     * backward would hold a compute-dtype copy of nearly the whole model, more than weights held in the compute
     * dtype; checkpointed, it holds one segment's copies at a time.
     */
    public boolean checkpointsBackward(boolean requested) {
        return requested || weightsHeldInOtherType;
    }
}
