package dev.selectune.diffusion.unet;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDList;
import ai.djl.ndarray.NDManager;
import ai.djl.ndarray.types.Shape;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Scopes;

import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Deque;
import java.util.List;
import java.util.function.BiConsumer;
import java.util.function.Function;

/**
 * Runs a UNet's ordered {@link UNetSegment}s: the forward, and the checkpointed backward that replays them one at a
 * time. Both walk the same list with the same stack rules, so the skip layout exists only in the list.
 *
 * <p>The values of a walk are numbered: value 0 is the sample, value i + 1 the output of segment i; the stack
 * holds value numbers.
 */
final class UNetSegments {
    private final List<UNetSegment> segments;

    UNetSegments(List<UNetSegment> segments) {
        this.segments = List.copyOf(segments);
    }

    List<UNetSegment> list() {
        return segments;
    }

    /** What segment i read: the number of its input, of the saved state it took (-1: none), the stack's top shape. */
    private record Step(int input, int taken, Shape next) {
    }

    /** The values of a walk that kept them all, and the steps that read them. */
    private record Trace(List<NDArray> values, List<Step> steps) {
    }

    /**
     * The forward in the caller's grad mode. Each value is closed as soon as no later segment reads it (under
     * autograd the graph keeps what it saved), so a no-grad forward holds the stack and one segment's tensors.
     */
    NDArray forward(NDArray sample, NDArray temb, NDArray context, BiConsumer<String, NDArray> tap) {
        Trace trace = walk(sample, temb, context, tap, false);
        return trace.values().get(trace.values().size() - 1);
    }

    /**
     * Runs every segment from {@code sample}. With {@code keep}, every value stays open (the caller owns them);
     * otherwise values no later segment reads are closed as the walk goes, and only the last is returned open.
     */
    private Trace walk(NDArray sample, NDArray temb, NDArray context, BiConsumer<String, NDArray> tap, boolean keep) {
        List<NDArray> values = new ArrayList<>();
        values.add(sample);
        List<Step> steps = new ArrayList<>();
        Deque<Integer> stack = new ArrayDeque<>();
        int hidden = 0;
        for (UNetSegment s : segments) {
            int taken = -1;
            if (s.takesSaved()) {
                if (stack.isEmpty()) {
                    throw new IllegalStateException(s.path() + " takes a saved state but none is left");
                }
                taken = stack.pop();
            }
            if (s.savesInput()) {
                stack.push(hidden);
            }
            Shape next = stack.isEmpty() ? null : values.get(stack.peek()).getShape();
            UNetSegment.Input in = new UNetSegment.Input(values.get(hidden), taken < 0 ? null : values.get(taken),
                    next, temb, context);
            NDArray out = Scopes.run(() -> s.module().forward(in));
            int produced = values.size();
            values.add(out);
            if (s.savesOutput()) {
                stack.push(produced);
            }
            steps.add(new Step(hidden, taken, next));
            if (s.tap() != null && tap != null) {
                tap.accept(s.tap(), out);
            }
            if (!keep) {
                closeUnlessRead(values, hidden, stack);
                closeUnlessRead(values, taken, stack);
            }
            hidden = produced;
        }
        return new Trace(values, steps);
    }

    /** Closes value {@code index} unless it is the caller's sample or a saved state still on the stack. */
    private static void closeUnlessRead(List<NDArray> values, int index, Deque<Integer> stack) {
        if (index > 0 && !stack.contains(index)) {
            values.get(index).close();
        }
    }

    /**
     * A checkpointed forward and backward: the forward runs without a graph and keeps every segment's input; then
     * each segment, last first, is run again with a graph from fresh leaves over its inputs and backpropagated with
     * its output's gradient, which gives the gradients of its inputs and accumulates into every trainable leaf
     * inside it (the LoRA) as one plain backward would. Only one segment's graph exists at a time, and with it only
     * that segment's saved activations and, for weights held in another dtype, its weights' compute-dtype copies.
     *
     * <p>{@code temb} and {@code context} are constants of the replay: nothing before the first segment trains.
     *
     * @return the loss, detached, in the sample's manager
     */
    NDArray lossAndBackward(NDArray sample, NDArray temb, NDArray context, Function<NDArray, NDArray> lossOfOutput) {
        try (NDManager work = sample.getManager().newSubManager()) {
            Trace trace = Autograd.noGrad(() -> walk(sample, temb, context, null, true));
            List<NDArray> values = trace.values();
            for (int i = 1; i < values.size(); i++) {
                values.get(i).attach(work);
            }
            NDArray[] grads = new NDArray[values.size()];
            NDArray loss = Autograd.withGrad(() -> {
                NDArray lossValue = null;
                for (int i = segments.size() - 1; i >= 0; i--) {
                    boolean last = i == segments.size() - 1;
                    NDArray upstream = grads[i + 1];
                    if (!last && upstream == null) {
                        continue; // nothing after this segment depends on its output
                    }
                    Replayed r = replay(segments.get(i), trace.steps().get(i), values, temb, context,
                            last ? lossOfOutput : null, upstream);
                    Step step = trace.steps().get(i);
                    accumulate(work, grads, step.input(), r.inputGrad());
                    accumulate(work, grads, step.taken(), r.takenGrad());
                    if (r.loss() != null) {
                        lossValue = r.loss();
                    }
                    // Value i + 1 was read by this segment's successors only, all replayed by now.
                    values.get(i + 1).close();
                    if (upstream != null) {
                        upstream.close();
                        grads[i + 1] = null;
                    }
                }
                return lossValue;
            });
            loss.attach(sample.getManager());
            return loss;
        }
    }

    /** The gradients a segment's replay gives its input and its taken state (null: none), and the loss (last only). */
    private record Replayed(NDArray inputGrad, NDArray takenGrad, NDArray loss) {
    }

    private static Replayed replay(UNetSegment segment, Step step, List<NDArray> values, NDArray temb,
                                   NDArray context, Function<NDArray, NDArray> lossOfOutput, NDArray upstream) {
        NDArray[] found = new NDArray[3];
        Scopes.runList(() -> {
            // Every input is a fresh leaf, the sample's too: then every replayed output is in a graph (DJL cannot
            // tell whether a result is), and the sample's unused gradient costs one convolution's backward.
            NDArray x = leaf(values.get(step.input()));
            NDArray saved = step.taken() < 0 ? null : leaf(values.get(step.taken()));
            NDArray out = segment.module().forward(new UNetSegment.Input(x, saved, step.next(), temb, context));
            if (lossOfOutput != null) {
                NDArray loss = lossOfOutput.apply(out);
                Autograd.backward(loss);
                found[2] = loss.stopGradient();
            } else {
                Autograd.backward(out, upstream);
            }
            found[0] = gradientCopy(x);
            found[1] = saved == null ? null : gradientCopy(saved);
            NDList kept = new NDList();
            for (NDArray a : found) {
                if (a != null) {
                    kept.add(a);
                }
            }
            return kept;
        });
        return new Replayed(found[0], found[1], found[2]);
    }

    /** A leaf's gradient as a tensor of its own (the leaf's buffer dies with it), or null when none reached it. */
    private static NDArray gradientCopy(NDArray leaf) {
        NDArray g = Autograd.gradientOrNull(leaf);
        return g == null ? null : g.duplicate();
    }

    private static void accumulate(NDManager work, NDArray[] grads, int index, NDArray g) {
        if (g == null) {
            return;
        }
        if (index <= 0) {
            g.close(); // the sample's: nothing before the UNet trains
            return;
        }
        if (grads[index] == null) {
            g.attach(work);
            grads[index] = g;
        } else {
            grads[index].addi(g);
            g.close();
        }
    }

    /** A fresh leaf over the same values, so the segment's graph starts here and its gradient can be read. */
    private static NDArray leaf(NDArray saved) {
        NDArray x = saved.stopGradient();
        x.setRequiresGradient(true);
        return x;
    }
}
