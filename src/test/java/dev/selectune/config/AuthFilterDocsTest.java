package dev.selectune.config;

import org.junit.jupiter.api.Test;
import org.springframework.mock.web.MockFilterChain;
import org.springframework.mock.web.MockHttpServletRequest;
import org.springframework.mock.web.MockHttpServletResponse;
import tools.jackson.databind.json.JsonMapper;

import static org.assertj.core.api.Assertions.assertThat;
import static org.mockito.Mockito.mock;

/** {@code selectune.api-docs.public}: the API description answers without a key, or only with one. */
class AuthFilterDocsTest {
    private final ApiKeys keys = mock(ApiKeys.class);

    @Test
    void publicDocsNeedNoKey() throws Exception {
        for (String path : new String[] {"/v3/api-docs", "/swagger-ui/index.html", "/swagger-ui.html"}) {
            MockHttpServletResponse response = run(true, path);
            assertThat(response.getStatus()).as(path).isEqualTo(200);
        }
        assertThat(run(true, "/v1/jobs").getStatus()).isEqualTo(401);
    }

    @Test
    void privateDocsAnswer401ProblemsWithoutAKey() throws Exception {
        for (String path : new String[] {"/v3/api-docs", "/v3/api-docs/swagger-config", "/swagger-ui/index.html",
                "/swagger-ui.html"}) {
            MockHttpServletResponse response = run(false, path);
            assertThat(response.getStatus()).as(path).isEqualTo(401);
            assertThat(response.getContentType()).isEqualTo("application/problem+json");
        }
        assertThat(run(false, "/actuator/health").getStatus()).isEqualTo(200);
    }

    private MockHttpServletResponse run(boolean docsPublic, String path) throws Exception {
        AuthFilter filter = new AuthFilter(keys, true, docsPublic, JsonMapper.builder().build());
        MockHttpServletRequest request = new MockHttpServletRequest("GET", path);
        MockHttpServletResponse response = new MockHttpServletResponse();
        filter.doFilter(request, response, new MockFilterChain());
        return response;
    }
}
