package dev.selectune.api;

import org.springframework.core.io.ClassPathResource;
import org.springframework.http.MediaType;
import org.springframework.http.ResponseEntity;
import org.springframework.web.bind.annotation.GetMapping;
import org.springframework.web.bind.annotation.RestController;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.json.JsonMapper;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;

/**
 * The API description: the hand-written {@code openapi.yaml} (packaged into the jar) is the contract, served as it
 * is at {@code /v3/api-docs.yaml} and as JSON at {@code /v3/api-docs}, which Swagger UI shows. Nothing is generated
 * from the controllers, so clients, docs and Swagger UI read the one description the contract tests check.
 */
@RestController
public class ApiDocsController {
    static final String CONTRACT = "openapi.yaml";
    private static final MediaType YAML = MediaType.parseMediaType("application/yaml");

    private final byte[] yaml;
    private final String json;

    public ApiDocsController(JsonMapper mapper) {
        try (InputStream in = new ClassPathResource(CONTRACT).getInputStream()) {
            this.yaml = in.readAllBytes();
        } catch (IOException e) {
            throw new UncheckedIOException("the API contract " + CONTRACT + " is missing from the classpath", e);
        }
        Object tree = new Yaml(new SafeConstructor(new LoaderOptions())).load(new String(yaml, StandardCharsets.UTF_8));
        this.json = mapper.writeValueAsString(tree);
    }

    @GetMapping(path = "/v3/api-docs", produces = MediaType.APPLICATION_JSON_VALUE)
    public String json() {
        return json;
    }

    @GetMapping(path = "/v3/api-docs.yaml")
    public ResponseEntity<byte[]> yaml() {
        return ResponseEntity.ok().contentType(YAML).body(yaml);
    }

    /** Swagger UI's start script, pointed at the contract (the webjar's own one opens the Petstore example). */
    @GetMapping(path = "/swagger-ui/swagger-initializer.js", produces = "text/javascript")
    public String swaggerInitializer() {
        return """
                window.onload = function() {
                  window.ui = SwaggerUIBundle({
                    url: "/v3/api-docs",
                    dom_id: '#swagger-ui',
                    deepLinking: true,
                    persistAuthorization: true,
                    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
                    plugins: [SwaggerUIBundle.plugins.DownloadUrl],
                    layout: "StandaloneLayout"
                  });
                };
                """;
    }
}
