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
 * <p>The forward is split into segments (embedding + {@code conv_in}, each down block, the mid block, each up block,
 * the output head) so that {@link #lossAndBackward} can checkpoint them for training.
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

    private UNet2DConditionModel(UNetConfig config, Weights w) {
        this.config = config;
        this.dtype = w.dtype();
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
     * {@code up_blocks.i}, {@code conv_norm_out}). A tapped tensor is freed with its module's scope: a tap that keeps
     * it must copy it and {@code NDScope.unregister} the copy.
     */
    public NDArray forward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates, AddedConditions added,
                           BiConsumer<String, NDArray> tap) {
        return Scopes.run(() -> {
            NDArray temb = embedTime(sample, timestep, added, tap);
            NDArray h = inputConv(sample);
            emit(tap, "conv_in", h);
            List<NDArray> skips = new ArrayList<>();
            skips.add(h);
            for (int i = 0; i < downBlocks.size(); i++) {
                NDList states = downBlocks.get(i).forward(h, temb, encoderHiddenStates);
                skips.addAll(states);
                h = states.get(states.size() - 1);
                emit(tap, "down_blocks." + i, h);
            }
            h = midBlock.forward(h, temb, encoderHiddenStates);
            emit(tap, "mid_block", h);
            for (int i = 0; i < upBlocks.size(); i++) {
                UpBlock block = upBlocks.get(i);
                List<NDArray> consumed = takeLast(skips, block.skipCount());
                h = upForward(block, h, consumed, skips, temb, encoderHiddenStates);
                emit(tap, "up_blocks." + i, h);
            }
            return head(h, tap);
        });
    }

    private static void emit(BiConsumer<String, NDArray> tap, String name, NDArray value) {
        if (tap != null) {
            tap.accept(name, value);
        }
    }

    /** Removes and returns the last {@code n} skips, in their original order. */
    private static List<NDArray> takeLast(List<NDArray> skips, int n) {
        List<NDArray> tail = skips.subList(skips.size() - n, skips.size());
        List<NDArray> taken = new ArrayList<>(tail);
        tail.clear();
        return taken;
    }

    /** Runs an up block; the upsampler targets the size of the next skip, as diffusers' {@code upsample_size}. */
    private static NDArray upForward(UpBlock block, NDArray h, List<NDArray> consumed, List<NDArray> remaining,
                                     NDArray temb, NDArray context) {
        long height = 0;
        long width = 0;
        if (!remaining.isEmpty()) {
            Shape next = remaining.get(remaining.size() - 1).getShape();
            height = next.get(2);
            width = next.get(3);
        }
        return block.forward(h, consumed, temb, context, height, width);
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
                NDArray addEmbeds = NDArrays.concat(new NDList(added.textEmbeds().toType(dtype, false),
                        timeEmbeds.toType(dtype, false)), -1);
                emb = emb.add(addEmbedding.forward(addEmbeds));
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

    /** {@code conv_norm_out -> SiLU -> conv_out}. */
    private NDArray head(NDArray h, BiConsumer<String, NDArray> tap) {
        return Scopes.run(() -> {
            NDArray normed = convNormOut.forward(h);
            emit(tap, "conv_norm_out", normed);
            return convOut.forward(Activations.silu(normed));
        });
    }

    /**
     * One training step's forward and backward into every tensor that requires a gradient (the LoRA), returning the
     * loss. With {@code checkpointed}, the forward runs without a graph, keeping only each segment's inputs, and each
     * segment is re-run with a graph during the backward, last first: peak memory is one segment's graph instead of
     * the whole UNet's. LoRA gradients accumulate across segments into the same leaves as a plain backward.
     *
     * @param lossOfOutput the scalar loss of the UNet output (e.g. MSE against the target)
     */
    public NDArray lossAndBackward(NDArray sample, NDArray timestep, NDArray encoderHiddenStates,
                                   AddedConditions added, Function<NDArray, NDArray> lossOfOutput,
                                   boolean checkpointed) {
        if (!checkpointed) {
            return Autograd.withGrad(() -> {
                NDArray loss = Scopes.run(() -> lossOfOutput.apply(forward(sample, timestep, encoderHiddenStates, added)));
                Autograd.backward(loss);
                return loss;
            });
        }
        return new CheckpointedBackward(sample, timestep, encoderHiddenStates, added).run(lossOfOutput);
    }

    /** The segment-by-segment forward and reverse re-run of {@link #lossAndBackward} with checkpointing. */
    private final class CheckpointedBackward {
        private final NDArray sample;
        private final NDArray timestep;
        private final NDArray context;
        private final AddedConditions added;

        CheckpointedBackward(NDArray sample, NDArray timestep, NDArray context, AddedConditions added) {
            this.sample = sample;
            this.timestep = timestep;
            this.context = context;
            this.added = added;
        }

        NDArray run(Function<NDArray, NDArray> lossOfOutput) {
            try (NDManager work = sample.getManager().newSubManager()) {
                // Forward without a graph, keeping each segment's input: states are the down path's outputs
                // (conv_in's first), which are also the down blocks' inputs and the up blocks' skips.
                NDArray temb;
                List<NDArray> states = new ArrayList<>();
                List<NDArray> upInputs = new ArrayList<>();
                NDArray midInput;
                NDArray headInput;
                boolean previous = Autograd.isEnabled();
                Autograd.setEnabled(false);
                try {
                    temb = keep(work, embedTime(sample, timestep, added, null));
                    NDArray h = keep(work, inputConv(sample));
                    states.add(h);
                    for (DownBlock block : downBlocks) {
                        NDList out = block.forward(h, temb, context);
                        out.forEach(a -> keep(work, a));
                        states.addAll(out);
                        h = out.get(out.size() - 1);
                    }
                    midInput = h;
                    h = keep(work, midBlock.forward(h, temb, context));
                    List<NDArray> skips = new ArrayList<>(states);
                    for (UpBlock block : upBlocks) {
                        upInputs.add(h);
                        List<NDArray> consumed = takeLast(skips, block.skipCount());
                        h = keep(work, upForward(block, h, consumed, skips, temb, context));
                    }
                    headInput = h;
                } finally {
                    Autograd.setEnabled(previous);
                }

                return Autograd.withGrad(() -> {
                    // The head and the loss in one graph; the head has nothing trainable but passes the gradient on.
                    NDList headResult = Scopes.runList(() -> {
                        NDArray x = leaf(headInput);
                        NDArray l = lossOfOutput.apply(head(x, null));
                        Autograd.backward(l);
                        return new NDList(Autograd.gradientOrNull(x).duplicate(), l.stopGradient());
                    });
                    NDArray upstream = keep(work, headResult.get(0));
                    NDArray lossValue = headResult.get(1);
                    NDArray[] stateGrads = new NDArray[states.size()];
                    for (int i = upBlocks.size() - 1; i >= 0; i--) {
                        UpBlock block = upBlocks.get(i);
                        int n = block.skipCount();
                        int start = skipStart(i);
                        List<NDArray> remaining = states.subList(0, start);
                        NDArray h = upInputs.get(i);
                        List<NDArray> consumed = states.subList(start, start + n);
                        NDArray g = upstream;
                        NDList grads = Scopes.runList(() -> {
                            NDArray x = leaf(h);
                            List<NDArray> skipLeaves = new ArrayList<>();
                            consumed.forEach(s -> skipLeaves.add(leaf(s)));
                            NDArray out = upForward(block, x, skipLeaves, new ArrayList<>(remaining), temb,
                                    context);
                            Autograd.backward(out, g);
                            NDList result = new NDList(Autograd.gradientOrNull(x).duplicate());
                            skipLeaves.forEach(s -> result.add(Autograd.gradientOrNull(s).duplicate()));
                            return result;
                        });
                        upstream = keep(work, grads.get(0));
                        for (int k = 0; k < n; k++) {
                            accumulate(work, stateGrads, start + k, grads.get(k + 1));
                        }
                    }
                    NDArray gMid = upstream;
                    NDArray midGrad = Scopes.run(() -> {
                        NDArray x = leaf(midInput);
                        Autograd.backward(midBlock.forward(x, temb, context), gMid);
                        return Autograd.gradientOrNull(x).duplicate();
                    });
                    accumulate(work, stateGrads, states.size() - 1, midGrad);
                    int end = states.size();
                    for (int i = downBlocks.size() - 1; i >= 0; i--) {
                        DownBlock block = downBlocks.get(i);
                        int start = end - block.outputCount();
                        int first = start;
                        int inputIndex = start - 1;
                        boolean needInputGrad = inputIndex > 0;
                        NDArray input = states.get(inputIndex);
                        NDList inputGrad = Scopes.runList(() -> {
                            // Block 0's input is conv_in's output: nothing before it trains, so no gradient is needed.
                            NDArray x = needInputGrad ? leaf(input) : input;
                            NDList out = block.forward(x, temb, context);
                            NDArray objective = null;
                            for (int k = 0; k < out.size(); k++) {
                                NDArray g = stateGrads[first + k];
                                if (g != null) {
                                    // sum(out * g) backpropagates every output's upstream gradient in one pass.
                                    NDArray term = out.get(k).mul(g).sum();
                                    objective = objective == null ? term : objective.add(term);
                                }
                            }
                            if (objective != null) {
                                Autograd.backward(objective);
                            }
                            return needInputGrad && objective != null
                                    ? new NDList(Autograd.gradientOrNull(x).duplicate()) : new NDList();
                        });
                        if (!inputGrad.isEmpty()) {
                            accumulate(work, stateGrads, inputIndex, inputGrad.get(0));
                        }
                        end = start;
                    }
                    lossValue.attach(sample.getManager());
                    return lossValue;
                });
            }
        }

        /** Index in the down path's states of the first skip up block {@code i} consumes. */
        private int skipStart(int i) {
            int total = 1;
            for (DownBlock b : downBlocks) {
                total += b.outputCount();
            }
            for (int k = 0; k <= i; k++) {
                total -= upBlocks.get(k).skipCount();
            }
            return total;
        }

        private NDArray keep(NDManager work, NDArray a) {
            a.attach(work);
            return a;
        }

        private void accumulate(NDManager work, NDArray[] grads, int index, NDArray g) {
            if (grads[index] == null) {
                grads[index] = keep(work, g);
            } else {
                grads[index].addi(g);
                g.close();
            }
        }

        /** A fresh leaf over the same values, so the segment's graph starts here and its gradient can be read. */
        private NDArray leaf(NDArray saved) {
            NDArray x = saved.stopGradient();
            x.setRequiresGradient(true);
            return x;
        }
    }
}
