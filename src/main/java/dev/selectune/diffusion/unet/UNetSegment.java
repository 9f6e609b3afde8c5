package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.models.Transformer2DModel;

import java.util.List;

/**
 * One step of the UNet's forward: a module applied to the hidden state, and what it does with the stack of saved
 * states that carries the skip connections (and a transformer's residual across its pieces).
 * {@link UNet2DConditionModel} describes its layout once, as the ordered list of its segments; {@link UNetSegments}
 * runs the list forward, and replays it segment by segment, last first, for a checkpointed backward.
 *
 * <p>A segment, in this order: takes the newest saved state ({@code takesSaved}); saves its input
 * ({@code savesInput}); runs {@code module}; saves its output ({@code savesOutput}); hands the output to the
 * forward's tap as {@code tap} when that is not null.
 *
 * @param path module path of what the segment runs ({@code down_blocks.0.resnets.1}, ...)
 */
public record UNetSegment(String path, boolean takesSaved, boolean savesInput, boolean savesOutput, String tap,
                          Module module) {

    /** The computation of a segment; it must create no state outside its result. */
    @FunctionalInterface
    public interface Module {
        NDArray forward(Input in);
    }

    /**
     * @param hidden  the previous segment's output (the UNet's sample for the first segment)
     * @param saved   the state this segment took from the stack, or null
     * @param next    the shape of the newest state left on the stack, or null: an upsampler's target size
     * @param temb    the time embedding (B, time_embed_dim)
     * @param context the encoder hidden states (B, M, cross_attention_dim)
     */
    public record Input(NDArray hidden, NDArray saved, Shape next, NDArray temb, NDArray context) {
    }

    static UNetSegment of(String path, Module module) {
        return new UNetSegment(path, false, false, false, null, module);
    }

    UNetSegment takingSaved() {
        return new UNetSegment(path, true, savesInput, savesOutput, tap, module);
    }

    UNetSegment savingOutput() {
        return new UNetSegment(path, takesSaved, savesInput, true, tap, module);
    }

    UNetSegment tapped(String name) {
        return new UNetSegment(path, takesSaved, savesInput, savesOutput, name, module);
    }

    /**
     * A Transformer2DModel as {@code proj_in} (which saves the input for the residual), one segment per
     * transformer block, and {@code proj_out} (which takes it back): SDXL's deepest transformers hold ten blocks,
     * and a checkpointed backward holds the compute-dtype copies of one segment's frozen weights at a time.
     */
    static void addTransformer(List<UNetSegment> out, String path, Transformer2DModel t, boolean savesOutput) {
        out.add(new UNetSegment(path + ".proj_in", false, true, false, null, in -> t.projectIn(in.hidden())));
        for (int k = 0; k < t.transformerBlocks().size(); k++) {
            var block = t.transformerBlocks().get(k);
            out.add(of(path + ".transformer_blocks." + k, in -> block.forward(in.hidden(), in.context())));
        }
        out.add(new UNetSegment(path + ".proj_out", true, false, savesOutput, null,
                in -> t.projectOut(in.hidden(), in.saved())));
    }

    /** The list with its last segment tapped as {@code name} (a block's output in the forward's taps). */
    static List<UNetSegment> tapLast(List<UNetSegment> segments, String name) {
        int last = segments.size() - 1;
        segments.set(last, segments.get(last).tapped(name));
        return segments;
    }
}
