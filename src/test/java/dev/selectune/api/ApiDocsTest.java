package dev.selectune.api;

import org.junit.jupiter.api.Test;
import org.springframework.test.web.servlet.MvcResult;
import org.yaml.snakeyaml.LoaderOptions;
import org.yaml.snakeyaml.Yaml;
import org.yaml.snakeyaml.constructor.SafeConstructor;
import tools.jackson.databind.JsonNode;
import tools.jackson.databind.json.JsonMapper;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;

import static org.assertj.core.api.Assertions.assertThat;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.redirectedUrl;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/** One API description: {@code /v3/api-docs} and Swagger UI serve the repository's openapi.yaml, nothing generated. */
class ApiDocsTest extends ServiceTestBase {
    private static final Path CONTRACT = Path.of("openapi.yaml");
    private final JsonMapper json = JsonMapper.builder().build();

    @Test
    void apiDocsIsTheContractFile() throws Exception {
        byte[] file = Files.readAllBytes(CONTRACT);
        MvcResult r = mvc.perform(get("/v3/api-docs")).andExpect(status().isOk()).andReturn();
        assertThat(r.getResponse().getContentType()).startsWith("application/json");
        JsonNode served = json.readTree(r.getResponse().getContentAsString(StandardCharsets.UTF_8));
        Object parsed = new Yaml(new SafeConstructor(new LoaderOptions()))
                .load(new String(file, StandardCharsets.UTF_8));
        assertThat(served).isEqualTo(json.valueToTree(parsed));
        assertThat(served.get("info").get("title").asString()).isEqualTo("Selectune API");

        MvcResult yaml = mvc.perform(get("/v3/api-docs.yaml")).andExpect(status().isOk()).andReturn();
        assertThat(yaml.getResponse().getContentAsByteArray()).isEqualTo(file);
    }

    @Test
    void swaggerUiOpensTheContract() throws Exception {
        mvc.perform(get("/swagger-ui.html")).andExpect(redirectedUrl("/swagger-ui/index.html"));
        mvc.perform(get("/swagger-ui/index.html")).andExpect(status().isOk());
        mvc.perform(get("/swagger-ui/swagger-ui-bundle.js")).andExpect(status().isOk());
        String script = mvc.perform(get("/swagger-ui/swagger-initializer.js")).andExpect(status().isOk())
                .andReturn().getResponse().getContentAsString();
        assertThat(script).contains("url: \"/v3/api-docs\"").doesNotContain("petstore");
    }
}
