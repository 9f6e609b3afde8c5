package dev.selectune.console;

import dev.selectune.api.ServiceTestBase;
import dev.selectune.config.SessionCredentials;
import org.junit.jupiter.api.Test;
import org.springframework.http.MediaType;
import org.springframework.mock.web.MockHttpSession;
import org.springframework.test.web.servlet.MvcResult;

import static org.assertj.core.api.Assertions.assertThat;
import static org.hamcrest.Matchers.containsString;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.get;
import static org.springframework.test.web.servlet.request.MockMvcRequestBuilders.post;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.content;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.header;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.redirectedUrl;
import static org.springframework.test.web.servlet.result.MockMvcResultMatchers.status;

/**
 * The console's session rules without a browser: pages need a signed-in session, state changes need the session's
 * CSRF token (forms and the /v1 API alike), the session reads /v1 in place of a bearer key, sign-out ends it.
 */
class ConsoleSecurityTest extends ServiceTestBase {
    private static final MediaType FORM = MediaType.APPLICATION_FORM_URLENCODED;

    private static MockHttpSession signedIn(String key) {
        MockHttpSession session = new MockHttpSession();
        session.setAttribute(SessionCredentials.API_KEY, key);
        session.setAttribute(SessionCredentials.CSRF_TOKEN, "token-123");
        return session;
    }

    @Test
    void pagesSendVisitorsToSignInAndCarryAStrictContentSecurityPolicy() throws Exception {
        mvc.perform(get("/jobs")).andExpect(status().isFound()).andExpect(redirectedUrl("/sign-in"));
        mvc.perform(get("/jobs/new")).andExpect(status().isFound()).andExpect(redirectedUrl("/sign-in"));
        mvc.perform(get("/sign-in")).andExpect(status().isOk())
                .andExpect(header().string("Content-Security-Policy", containsString("default-src 'self'")))
                .andExpect(content().string(containsString("name=\"api_key\"")));
        mvc.perform(get("/jobs").session(signedIn(ACME_KEY))).andExpect(status().isOk())
                .andExpect(header().string("Content-Security-Policy", ConsoleGuard.POLICY))
                .andExpect(content().string(containsString("id=\"jobs-table\"")));
    }

    @Test
    void signInKeepsTheKeyInTheSessionOnlyAndSignOutEndsIt() throws Exception {
        MockHttpSession session = new MockHttpSession();
        session.setAttribute(SessionCredentials.CSRF_TOKEN, "token-123");
        mvc.perform(post("/sign-in").session(session).contentType(FORM).param("_csrf", "token-123").param("api_key", "st_wrong_0123456789"))
                .andExpect(status().isUnauthorized()).andExpect(content().string(containsString("unknown or revoked")));
        MvcResult r = mvc.perform(post("/sign-in").session(session).contentType(FORM).param("_csrf", "token-123")
                        .param("api_key", ACME_KEY))
                .andExpect(status().isFound()).andExpect(redirectedUrl("/jobs")).andReturn();
        MockHttpSession after = (MockHttpSession) r.getRequest().getSession();
        assertThat(after.getAttribute(SessionCredentials.API_KEY)).isEqualTo(ACME_KEY);
        // A new CSRF token with the new sign-in: one learnt before it is of no use.
        assertThat(after.getAttribute(SessionCredentials.CSRF_TOKEN)).isNotEqualTo("token-123");
        assertThat(r.getResponse().getContentAsString()).doesNotContain(ACME_KEY);
        String token = (String) after.getAttribute(SessionCredentials.CSRF_TOKEN);
        mvc.perform(post("/sign-out").session(after).contentType(FORM).param("_csrf", token))
                .andExpect(status().isFound()).andExpect(redirectedUrl("/sign-in"));
        assertThat(after.isInvalid()).isTrue();
    }

    @Test
    void aSignedInSessionReadsTheApiButChangesNothingWithoutTheCsrfToken() throws Exception {
        MockHttpSession session = signedIn(ACME_KEY);
        mvc.perform(get("/v1/jobs").session(session)).andExpect(status().isOk());
        mvc.perform(post("/v1/jobs/job_nope/cancel").session(session)).andExpect(status().isForbidden())
                .andExpect(content().string(containsString("X-CSRF-Token")));
        mvc.perform(post("/v1/jobs/job_nope/cancel").session(session).header("X-CSRF-Token", "wrong"))
                .andExpect(status().isForbidden());
        mvc.perform(post("/v1/jobs/job_nope/cancel").session(session).header("X-CSRF-Token", "token-123"))
                .andExpect(status().isNotFound());
        mvc.perform(post("/jobs/job_nope/cancel").session(session).contentType(FORM)).andExpect(status().isForbidden())
                .andExpect(content().string(containsString("CSRF")));
        mvc.perform(post("/jobs/job_nope/cancel").session(session).contentType(FORM).param("_csrf", "token-123"))
                .andExpect(status().isNotFound()).andExpect(content().string(containsString("404")));
        // A bearer key still works as before, and a session whose key is unknown reads nothing.
        mvc.perform(get("/v1/jobs").header("Authorization", "Bearer " + ACME_KEY)).andExpect(status().isOk());
        mvc.perform(get("/v1/jobs").session(signedIn("st_revoked_or_unknown_0123"))).andExpect(status().isUnauthorized());
        mvc.perform(get("/jobs").session(signedIn("st_revoked_or_unknown_0123"))).andExpect(status().isFound());
    }
}
