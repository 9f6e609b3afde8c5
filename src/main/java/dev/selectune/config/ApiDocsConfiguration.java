package dev.selectune.config;

import org.springframework.context.annotation.Configuration;
import org.springframework.core.io.ClassPathResource;
import org.springframework.web.servlet.config.annotation.ResourceHandlerRegistry;
import org.springframework.web.servlet.config.annotation.ViewControllerRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Properties;

/**
 * Swagger UI at {@code /swagger-ui.html} (and {@code /swagger-ui/index.html}): the webjar's static files, whose
 * start script {@code ApiDocsController} replaces so that it opens {@code /v3/api-docs}. Behind the same key check as
 * the description itself unless {@code selectune.api-docs.public} (see {@link AuthFilter#DOCS_PATTERNS}).
 */
@Configuration(proxyBeanMethods = false)
public class ApiDocsConfiguration implements WebMvcConfigurer {
    @Override
    public void addResourceHandlers(ResourceHandlerRegistry registry) {
        registry.addResourceHandler("/swagger-ui/**")
                .addResourceLocations("classpath:/META-INF/resources/webjars/swagger-ui/" + swaggerUiVersion() + "/");
    }

    @Override
    public void addViewControllers(ViewControllerRegistry registry) {
        registry.addRedirectViewController("/swagger-ui.html", "/swagger-ui/index.html");
    }

    /** The webjar's version, from its Maven metadata (its files sit in a folder named by it). */
    static String swaggerUiVersion() {
        Properties pom = new Properties();
        try (InputStream in = new ClassPathResource("META-INF/maven/org.webjars/swagger-ui/pom.properties")
                .getInputStream()) {
            pom.load(in);
        } catch (IOException e) {
            throw new UncheckedIOException("Swagger UI's webjar is missing from the classpath", e);
        }
        return pom.getProperty("version");
    }
}
