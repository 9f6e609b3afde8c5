package dev.selectune.training;

import dev.selectune.util.Problem;
import dev.selectune.OpenApiDocument;
import dev.selectune.diffusion.nn.WeightsDtype;
import dev.selectune.training.JobFingerprint;
import org.junit.jupiter.api.Test;

import java.io.IOException;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The options of {@link TrainingConfig} are defined once, on its components: openapi.yaml's job spec documents
 * exactly those (names, types, defaults, bounds, choices), every typed builder setter sets the option of its name,
 * and a record with one more option gets it in the builder, the validation, the fingerprint and the openapi check
 * without any other code changing.
 */
class HyperparameterDefinitionTest {
    /** The job spec's own fields, which are not training options. */
    static final Set<String> SPEC_FIELDS = Set.of("base_model", "image_set_id", "metadata", "evaluation", "webhook",
            "webhook_events_filter");

    @Test
    void openApiDocumentsEveryOptionAsDefined() throws IOException {
        assertThat(disagreements(TrainingConfig.HYPERPARAMETERS)).isEmpty();
    }

    @Test
    void theOpenApiCheckHasTeeth() throws IOException {
        Map<String, Object> doc = OpenApiDocument.load();
        Map<String, Map<String, Object>> properties = OpenApiDocument.properties(doc, "JobSpec");
        properties.get("rank").put("maximum", 512);
        properties.get("learning_rate").put("default", 0.001);
        properties.get("precision").put("enum", List.of("auto", "fp32"));
        properties.remove("zo_epsilon");
        properties.put("learning_rat", Map.of("type", "number"));
        properties.get("steps").put("type", "number");
        assertThat(disagreements(TrainingConfig.HYPERPARAMETERS, doc)).containsExactlyInAnyOrder(
                "rank: maximum 512.0 in openapi.yaml, 256.0 defined",
                "learning_rate: default 0.001 in openapi.yaml, 1.0E-4 defined",
                "precision: enum [auto, fp32] in openapi.yaml, [auto, fp32, fp16] defined",
                "zo_epsilon: missing from openapi.yaml",
                "learning_rat: in openapi.yaml but not an option",
                "steps: type number in openapi.yaml, integer defined");
    }

    @Test
    void everyTypedSetterSetsTheOptionOfItsName() throws ReflectiveOperationException {
        int setters = 0;
        for (Method m : TrainingConfig.Builder.class.getDeclaredMethods()) {
            if (!Modifier.isPublic(m.getModifiers()) || m.getName().equals("set") || m.getName().equals("build")) {
                continue;
            }
            String name = HyperparameterSet.Definition.snakeCase(m.getName());
            HyperparameterSet.Definition d = TrainingConfig.HYPERPARAMETERS.find(name).orElse(null);
            assertThat(d).as("setter " + m.getName() + " names an option").isNotNull();
            assertThat(m.getParameterTypes()).as(m.getName()).containsExactly(d.type());
            Object value = d.fromWire(HyperparameterSamples.notTheDefault(d));
            TrainingConfig.Builder b = TrainingConfig.builder("a sks dog");
            TrainingConfig c = ((TrainingConfig.Builder) m.invoke(b, value)).build();
            assertThat(d.get(c)).as(m.getName()).isEqualTo(value);
            for (HyperparameterSet.Definition other : TrainingConfig.HYPERPARAMETERS.all()) {
                if (other != d && !other.name().equals("instance_prompt")) {
                    assertThat(other.get(c)).as(m.getName() + " leaves " + other.name())
                            .isEqualTo(other.defaultValue());
                }
            }
            setters++;
        }
        assertThat(setters).as("typed setters checked").isPositive();
    }

    @Test
    void weightsDtypeChoicesAreTheOnesTheModelReads() {
        for (String choice : TrainingConfig.HYPERPARAMETERS.get("weights_dtype").choices()) {
            assertThat(WeightsDtype.isValid(choice)).as(choice).isTrue();
        }
    }

    /** A TrainingConfig with one option more, declared only on its component. */
    record Widened(
            @Hyperparameter(defaultValue = "1000", min = 1, max = 100_000, description = "training steps")
            int steps,
            @Hyperparameter(defaultValue = "0.25", min = 0, max = 1, description = "a new option")
            double newOption) {
    }

    /** What a job of the old record would have stored: every option but the new one. */
    record Narrow(@Hyperparameter(defaultValue = "1000", min = 1, max = 100_000, description = "training steps")
                  int steps) {
    }

    @Test
    void anOptionDeclaredOnItsComponentReachesDefaultsValidationFingerprintAndTheOpenApiCheck() throws IOException {
        HyperparameterSet<Widened> set = HyperparameterSet.of(Widened.class);
        HyperparameterSet.Definition d = set.get("new_option");
        assertThat(d.flags()).containsExactly("--new-option");
        assertThat(set.create(Map.of()).newOption()).isEqualTo(0.25);

        List<Problem> problems = new ArrayList<>();
        set.check(set.create(Map.of("new_option", 2.0)), problems);
        assertThat(problems).containsExactly(new Problem("new_option", "must be in [0, 1], got 2.0"));

        Map<String, String> defaults = new LinkedHashMap<>();
        set.all().forEach(x -> defaults.put(x.name(), x.canonicalDefault()));
        JobFingerprint before = new JobFingerprint(HyperparameterSet.of(Narrow.class).canonical(new Narrow(300)));
        assertThat(before.differences(new JobFingerprint(set.canonical(new Widened(300, 0.25))), defaults))
                .as("a checkpoint from before the option resumes while it has its default").isEmpty();
        assertThat(before.differences(new JobFingerprint(set.canonical(new Widened(300, 0.5))), defaults))
                .containsExactly("new_option: absent in the checkpoint, 0.5 now");

        assertThat(disagreements(set)).contains("new_option: missing from openapi.yaml");
    }

    // ---- the openapi check, for any set of options ----

    static List<String> disagreements(HyperparameterSet<?> set) throws IOException {
        return disagreements(set, OpenApiDocument.load());
    }

    @SuppressWarnings("unchecked")
    static List<String> disagreements(HyperparameterSet<?> set, Map<String, Object> doc) {
        Map<String, Map<String, Object>> properties = OpenApiDocument.properties(doc, "JobSpec");
        Map<String, Object> schemas = OpenApiDocument.schemas(doc);
        List<String> out = new ArrayList<>();
        for (HyperparameterSet.Definition d : set.all()) {
            Map<String, Object> p = properties.get(d.name());
            if (p == null) {
                out.add(d.name() + ": missing from openapi.yaml");
                continue;
            }
            p = resolve(p, schemas);
            compare(out, d, "type", p.get("type"), jsonType(d));
            if (d.wireType() == Long.class) {
                compare(out, d, "format", p.get("format"), "int64");
            }
            if (d.isList()) {
                compare(out, d, "items", ((Map<String, Object>) p.get("items")).get("type"), "string");
            } else {
                Object dflt = d.toWire(d.defaultValue());
                compare(out, d, "default", number(p.get("default")), number(dflt));
            }
            HyperparameterRange r = d.range().orElse(null);
            compare(out, d, "minimum", number(p.get("minimum")), r == null ? null : r.min());
            compare(out, d, "maximum", number(p.get("maximum")), r == null ? null : r.max());
            compare(out, d, "exclusiveMinimum", Boolean.TRUE.equals(p.get("exclusiveMinimum")),
                    r != null && r.minExclusive());
            compare(out, d, "exclusiveMaximum", Boolean.TRUE.equals(p.get("exclusiveMaximum")),
                    r != null && r.maxExclusive());
            compare(out, d, "enum", p.get("enum"), d.choices().isEmpty() ? null : d.choices());
        }
        for (String name : properties.keySet()) {
            if (!SPEC_FIELDS.contains(name) && set.find(name).isEmpty()) {
                out.add(name + ": in openapi.yaml but not an option");
            }
        }
        return out;
    }

    /** A property with its {@code $ref} (alone or as the one {@code allOf}) merged in. */
    @SuppressWarnings("unchecked")
    private static Map<String, Object> resolve(Map<String, Object> p, Map<String, Object> schemas) {
        Object ref = p.get("$ref");
        if (ref == null && p.get("allOf") instanceof List<?> all && all.size() == 1) {
            ref = ((Map<String, Object>) all.get(0)).get("$ref");
        }
        if (ref == null) {
            return p;
        }
        Map<String, Object> merged = new LinkedHashMap<>((Map<String, Object>) schemas.get(
                ref.toString().substring("#/components/schemas/".length())));
        merged.putAll(p);
        return merged;
    }

    private static void compare(List<String> out, HyperparameterSet.Definition d, String key, Object documented,
                                Object defined) {
        if (!Objects.equals(documented, defined)) {
            out.add(d.name() + ": " + key + " " + documented + " in openapi.yaml, " + defined + " defined");
        }
    }

    private static Object number(Object v) {
        return v instanceof Number n ? (Object) n.doubleValue() : v;
    }

    private static String jsonType(HyperparameterSet.Definition d) {
        Class<?> w = d.wireType();
        return w == Integer.class || w == Long.class ? "integer" : w == Double.class ? "number"
                : w == Boolean.class ? "boolean" : w == String.class ? "string" : "array";
    }
}
