package dev.selectune.jobs;

import dev.selectune.OpenApiDocument;
import dev.selectune.evaluation.EvaluationSettings;
import dev.selectune.training.HyperparameterRange;
import org.junit.jupiter.api.Test;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * openapi.yaml's EvaluationRequest documents the bounds {@link EvaluationSpec} enforces and the defaults
 * {@link EvaluationSettings} declares (which the {@code train} command's {@code --eval-*} options show too), and
 * the spec refuses values just outside each bound, naming the field.
 */
class EvaluationSpecOpenApiTest {
    private static final JsonMapper JSON = JsonMapper.builder().build();

    @Test
    void openApiDocumentsTheBoundsAndDefaults() throws IOException {
        Map<String, Map<String, Object>> properties = OpenApiDocument.properties(OpenApiDocument.load(),
                "EvaluationRequest");
        for (HyperparameterRange r : EvaluationSpec.RANGES) {
            Map<String, Object> p = properties.get(r.name());
            assertThat(p.get("type")).as(r.name()).isEqualTo(r.integer() ? "integer" : "number");
            assertThat(((Number) p.get("minimum")).doubleValue()).as(r.name()).isEqualTo(r.min());
            assertThat(((Number) p.get("maximum")).doubleValue()).as(r.name()).isEqualTo(r.max());
        }
        Map<String, Number> defaults = Map.of("images_per_prompt", EvaluationSettings.DEFAULT_IMAGES_PER_PROMPT,
                "steps", EvaluationSettings.DEFAULT_STEPS, "guidance", EvaluationSettings.DEFAULT_GUIDANCE,
                "seed", EvaluationSettings.DEFAULT_SEED);
        defaults.forEach((name, value) -> assertThat(((Number) properties.get(name).get("default")).doubleValue())
                .as(name).isEqualTo(value.doubleValue()));
    }

    @Test
    void valuesJustOutsideEachBoundAreRefusedByName() {
        for (HyperparameterRange r : EvaluationSpec.RANGES) {
            for (double v : new double[] {r.min() - 1, r.max() + (r.integer() ? 8 : 0.5)}) {
                EvaluationSpec spec = with(r, v);
                assertThat(spec.problems()).as(r.name() + " = " + v)
                        .anyMatch(p -> p.field().equals("evaluation." + r.name()));
            }
            assertThat(with(r, r.max()).problems()).as(r.name() + " at its maximum").isEmpty();
        }
    }

    private static EvaluationSpec with(HyperparameterRange r, double v) {
        String value = r.integer() ? Long.toString((long) v) : Double.toString(v);
        return JSON.readValue("{\"prompts\": [\"a sks dog\"], \"" + r.name() + "\": " + value + "}",
                EvaluationSpec.class);
    }
}
