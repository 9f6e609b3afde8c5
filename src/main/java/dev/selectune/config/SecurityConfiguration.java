package dev.selectune.config;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.beans.factory.annotation.Value;
import org.springframework.boot.context.event.ApplicationReadyEvent;
import org.springframework.boot.web.servlet.FilterRegistrationBean;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.context.event.EventListener;
import tools.jackson.databind.json.JsonMapper;

/** API keys: the bearer filter, the keys seeded from {@code selectune.api-keys}, and the auth-off warning. */
@Configuration(proxyBeanMethods = false)
public class SecurityConfiguration {
    private static final Logger log = LoggerFactory.getLogger(SecurityConfiguration.class);

    /**
     * @param docsPublic {@code selectune.api-docs.public}: the API description needs no key (default true). It holds
     *                   nothing a client could not read in the repository's openapi.yaml, and "Try it out" still
     *                   sends a key; false hides it (and which version runs) from callers without one.
     */
    @Bean
    FilterRegistrationBean<AuthFilter> authFilter(ApiKeys keys, SelectuneProperties props, JsonMapper json,
                                                  @Value("${selectune.api-docs.public:true}") boolean docsPublic) {
        FilterRegistrationBean<AuthFilter> reg = new FilterRegistrationBean<>(
                new AuthFilter(keys, props.auth().enabled(), docsPublic, json));
        reg.addUrlPatterns("/v1/*");
        AuthFilter.DOCS_PATTERNS.forEach(reg::addUrlPatterns);
        return reg;
    }

    @Bean
    ApiKeySeeder apiKeySeeder(ApiKeys keys, SelectuneProperties props) {
        return new ApiKeySeeder(keys, props);
    }

    /** Seeds the configured keys once the schema exists (Flyway runs before the context is ready). */
    static final class ApiKeySeeder {
        private final ApiKeys keys;
        private final SelectuneProperties props;

        ApiKeySeeder(ApiKeys keys, SelectuneProperties props) {
            this.keys = keys;
            this.props = props;
            seed();
        }

        private void seed() {
            for (String pair : props.apiKeys().split(",")) {
                if (pair.isBlank()) {
                    continue;
                }
                int colon = pair.indexOf(':');
                if (colon <= 0) {
                    throw new IllegalArgumentException("selectune.api-keys: expected tenant:key, got an entry without"
                            + " ':' (entry " + pair.trim().replaceAll(".", "*").length() + " characters long)");
                }
                keys.seed(pair.substring(0, colon).trim(), pair.substring(colon + 1).trim());
            }
        }

        @EventListener(ApplicationReadyEvent.class)
        public void warnIfOpen() {
            if (!props.auth().enabled()) {
                log.warn("""

                        ************************************************************************
                        *  AUTHENTICATION IS OFF (selectune.auth.enabled=false).               *
                        *  Anyone who can reach this port can upload images and run jobs.      *
                        *  Use this only for a local, single-user setup.                       *
                        ************************************************************************""");
            }
        }
    }
}
