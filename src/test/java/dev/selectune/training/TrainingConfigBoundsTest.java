package dev.selectune.training;

import dev.selectune.util.Problem;
import dev.selectune.OpenApiDocument;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.function.BiFunction;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * Every numeric hyperparameter has one finite range: values just inside pass, just outside, NaN and both
 * infinities are refused with a problem naming the field, and openapi.yaml documents the same bounds.
 */
class TrainingConfigBoundsTest {

    @Test
    void everyRangeIsFiniteAndEnforcedAtItsEnds() {
        for (HyperparameterRange r : TrainingConfig.HYPERPARAMETERS.ranges()) {
            assertThat(Double.isFinite(r.min()) && Double.isFinite(r.max())).as(r.name()).isTrue();
            double step = r.integer() ? 1 : Math.max(1e-9, (r.max() - r.min()) * 1e-6);
            double lowest = r.minExclusive() ? r.min() + step : r.min();
            double highest = r.maxExclusive() ? r.max() - step : r.max();
            for (double ok : new double[] {lowest, highest}) {
                if (r.name().equals("t_mid") && ok > 1000) {
                    continue;
                }
                assertThat(problems(r, ok)).as(r.name() + " = " + ok).noneMatch(p -> r.name().equals(p.field()));
            }
            double below = r.minExclusive() ? r.min() : r.min() - step;
            double above = r.maxExclusive() ? r.max() : r.max() + step;
            List<Double> bad = new ArrayList<>(List.of(below, above));
            if (!r.integer()) {
                bad.addAll(List.of(Double.NaN, Double.POSITIVE_INFINITY, Double.NEGATIVE_INFINITY, 1e300, -1e300));
            }
            for (double v : bad) {
                assertThat(problems(r, v)).as(r.name() + " = " + v).anyMatch(p -> r.name().equals(p.field()) && p.message().startsWith("must be"));
            }
        }
    }

    @Test
    void theReportedCasesAreRefused() {
        TrainingConfig c = TrainingConfig.builder("a sks dog").loraAlpha(Double.POSITIVE_INFINITY)
                .weightDecay(Double.POSITIVE_INFINITY).maxGradNorm(Double.POSITIVE_INFINITY)
                .priorLossWeight(Double.POSITIVE_INFINITY).learningRate(1e300).resizeRatio(1e-300).k(0).build();
        assertThat(fields(c.problems())).contains("lora_alpha", "weight_decay", "max_grad_norm", "prior_loss_weight",
                "learning_rate", "resize_ratio", "k");
    }

    @Test
    void aNullValidationPromptIsNamedNotThrown() {
        TrainingConfig c = TrainingConfig.builder("a sks dog").validationPrompts(Arrays.asList("ok", null, " ")).build();
        assertThat(c.problems()).contains(new Problem("validation_prompts[1]", "must be a string, got null"),
                new Problem("validation_prompts[2]", "must not be empty"));
    }

    @Test
    void promptsRefuseControlCharactersAndHugeText() {
        TrainingConfig c = TrainingConfig.builder("a sks\u0000 dog").classPrompt("x".repeat(2001))
                .validationPrompts(List.of("line one\nline two\ttab", "bell\u0007")).build();
        assertThat(fields(c.problems())).containsExactlyInAnyOrder("instance_prompt", "class_prompt",
                "validation_prompts[1]");
    }

    @Test
    void openApiDocumentsTheSameBounds() throws IOException {
        Map<String, Map<String, Object>> properties = OpenApiDocument.properties(OpenApiDocument.load(), "JobSpec");
        for (HyperparameterRange r : TrainingConfig.HYPERPARAMETERS.ranges()) {
            Map<String, Object> p = properties.get(r.name());
            assertThat(p).as(r.name()).isNotNull();
            assertThat(p.get("type")).as(r.name()).isEqualTo(r.integer() ? "integer" : "number");
            assertThat(((Number) p.get("minimum")).doubleValue()).as(r.name() + " minimum").isEqualTo(r.min());
            assertThat(((Number) p.get("maximum")).doubleValue()).as(r.name() + " maximum").isEqualTo(r.max());
            assertThat(Boolean.TRUE.equals(p.get("exclusiveMinimum"))).as(r.name() + " exclusiveMinimum")
                    .isEqualTo(r.minExclusive());
            assertThat(Boolean.TRUE.equals(p.get("exclusiveMaximum"))).as(r.name() + " exclusiveMaximum")
                    .isEqualTo(r.maxExclusive());
        }
    }

    private static List<Problem> problems(HyperparameterRange r, double v) {
        BiFunction<TrainingConfig.Builder, Double, TrainingConfig.Builder> set = switch (r.name()) {
            case "steps" -> (b, x) -> b.steps((int) (double) x);
            case "resolution" -> (b, x) -> b.resolution((int) (double) x);
            case "resize_ratio" -> TrainingConfig.Builder::resizeRatio;
            case "rank" -> (b, x) -> b.rank((int) (double) x);
            case "lora_alpha" -> TrainingConfig.Builder::loraAlpha;
            case "learning_rate" -> TrainingConfig.Builder::learningRate;
            case "adam_beta1" -> TrainingConfig.Builder::adamBeta1;
            case "adam_beta2" -> TrainingConfig.Builder::adamBeta2;
            case "adam_epsilon" -> TrainingConfig.Builder::adamEpsilon;
            case "weight_decay" -> TrainingConfig.Builder::weightDecay;
            case "max_grad_norm" -> TrainingConfig.Builder::maxGradNorm;
            case "zo_perturbations" -> (b, x) -> b.zoPerturbations((int) (double) x);
            case "zo_epsilon" -> TrainingConfig.Builder::zoEpsilon;
            case "zo_learning_rate" -> TrainingConfig.Builder::zoLearningRate;
            case "k" -> TrainingConfig.Builder::k;
            case "t_mid" -> TrainingConfig.Builder::tMid;
            case "t_max" -> (b, x) -> b.tMax(x).tMid(Math.min(750, Math.max(0, x)));
            case "checkpoint_every" -> (b, x) -> b.checkpointEvery((int) (double) x);
            case "num_class_images" -> (b, x) -> b.numClassImages((int) (double) x).classPrompt("a dog");
            case "prior_loss_weight" -> TrainingConfig.Builder::priorLossWeight;
            case "validation_steps" -> (b, x) -> b.validationSteps((int) (double) x);
            case "guidance_scale" -> TrainingConfig.Builder::guidanceScale;
            default -> throw new AssertionError("no setter for " + r.name());
        };
        return set.apply(TrainingConfig.builder("a sks dog"), v).build().problems();
    }

    private static List<String> fields(List<Problem> problems) {
        return problems.stream().map(Problem::field).toList();
    }
}
