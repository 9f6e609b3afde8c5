package dev.selectune.training;

import ai.djl.ndarray.NDArray;
import ai.djl.ndarray.NDManager;
import dev.selectune.diffusion.nn.Autograd;
import dev.selectune.diffusion.nn.Scalars;
import dev.selectune.training.data.Conditioning;
import dev.selectune.training.data.TrainingData;
import dev.selectune.training.memory.MemoryProbe;
import dev.selectune.training.schedule.Schedule;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assertions.assertThrows;

/**
 * A step whose loss or update is not finite stops the job with a message naming the step, the strategy and what
 * to lower, and the steps after it never run (so no LoRA of NaNs is finished as a success).
 */
class TrainingDivergenceTest {
    private NDManager manager;

    @BeforeEach
    void open() {
        manager = NDManager.newBaseManager("PyTorch");
    }

    @AfterEach
    void close() {
        manager.close();
    }

    @Test
    void aNanLossFailsAtItsStep() {
        List<StepReport> seen = new ArrayList<>();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> run(Schedule.BP_LOW, 4, Poison.LOSS, seen));
        assertThat(e.getMessage()).isEqualTo("step 4: loss is NaN (bp_low); lowering learning_rate (or max_grad_norm)"
                + " may help");
        assertThat(e.step()).isEqualTo(4);
        assertThat(seen).hasSize(3);
    }

    @Test
    void aNanLossUnderZeroOrderNamesItsOwnRate() {
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> run(Schedule.ZO_HIGH, 2, Poison.LOSS, new ArrayList<>()));
        assertThat(e.getMessage()).startsWith("step 2: loss is NaN (zo_high); lowering zo_learning_rate");
    }

    @Test
    void aFiniteLossWithANanGradientFailsOnTheUpdate() {
        List<StepReport> seen = new ArrayList<>();
        TrainingDivergedException e = assertThrows(TrainingDivergedException.class,
                () -> run(Schedule.BP_LOW, 3, Poison.GRADIENT, seen));
        assertThat(e.getMessage()).startsWith("step 3: the update made LoRA weight 'toy.").contains("(bp_low)");
        assertThat(seen).hasSize(2);
    }

    private enum Poison { LOSS, GRADIENT }

    private void run(Schedule schedule, int fromStep, Poison poison, List<StepReport> seen) {
        TrainingConfig cfg = TrainingConfig.builder("a photo of sks dog").schedule(schedule).steps(6)
                .zoPerturbations(2).zoEpsilon(1e-2).zoLearningRate(1e-3).learningRate(1e-2).checkpointEvery(0).build();
        try (NDManager state = manager.newSubManager()) {
            ToyDenoiser toy = new ToyDenoiser(state, 7);
            TrainingData data = TrainingLoopTest.toyData(state.newSubManager(), false);
            Denoiser poisoned = new Poisoned(toy, () -> seen.size() + 1 >= fromStep, poison);
            Autograd.noGrad(() -> new TrainingLoop(poisoned, toy.parameters(), ToyDenoiser.scheduler(), data, cfg, 3,
                    state, MemoryProbe.cpu()).run(seen::add, CancellationToken.NEVER,
                    new TrainingLoopTest.MemoryCheckpoints()));
        }
    }

    /** The toy model, with NaN outputs (or a finite loss whose gradient is NaN) from a given step on. */
    private record Poisoned(ToyDenoiser toy, java.util.function.BooleanSupplier active, Poison poison)
            implements Denoiser {
        @Override
        public NDArray predict(NDArray noisy, int timestep, Conditioning cond) {
            NDArray out = toy.predict(noisy, timestep, cond);
            return active.getAsBoolean() ? Scalars.mul(out, Float.NaN) : out;
        }

        @Override
        public NDArray lossAndBackward(NDArray noisy, int timestep, Conditioning cond,
                                       Function<NDArray, NDArray> lossOfOutput, boolean checkpointed) {
            if (!active.getAsBoolean()) {
                return toy.lossAndBackward(noisy, timestep, cond, lossOfOutput, checkpointed);
            }
            return toy.lossAndBackward(noisy, timestep, cond, poison == Poison.LOSS
                    ? pred -> lossOfOutput.apply(Scalars.mul(pred, Float.NaN))
                    // sqrt(0 * pred) is 0, but its gradient is inf * 0 = NaN.
                    : pred -> lossOfOutput.apply(pred).add(Scalars.mul(pred, 0f).sqrt().sum()), checkpointed);
        }
    }
}
