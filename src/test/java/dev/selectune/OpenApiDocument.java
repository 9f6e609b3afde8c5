package dev.selectune;

import org.yaml.snakeyaml.Yaml;

import java.io.IOException;
import java.io.Reader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/** openapi.yaml as parsed YAML, for tests that hold the code's definitions to the document. */
public final class OpenApiDocument {
    private OpenApiDocument() {
    }

    public static Map<String, Object> load() throws IOException {
        try (Reader r = Files.newBufferedReader(Path.of("openapi.yaml"))) {
            return new Yaml().load(r);
        }
    }

    @SuppressWarnings("unchecked")
    public static Map<String, Object> schemas(Map<String, Object> doc) {
        return (Map<String, Object>) ((Map<String, Object>) doc.get("components")).get("schemas");
    }

    /** The properties of schema {@code name} (JobSpec, EvaluationRequest). */
    @SuppressWarnings("unchecked")
    public static Map<String, Map<String, Object>> properties(Map<String, Object> doc, String name) {
        return (Map<String, Map<String, Object>>) ((Map<String, Object>) schemas(doc).get(name)).get("properties");
    }
}
