package dev.selectune.console;

import org.springframework.context.annotation.Configuration;
import org.springframework.web.servlet.config.annotation.InterceptorRegistry;
import org.springframework.web.servlet.config.annotation.WebMvcConfigurer;

/** The console's pages behind {@link ConsoleGuard}; the API ({@code /v1}) keeps its own {@code AuthFilter}. */
@Configuration(proxyBeanMethods = false)
public class ConsoleConfiguration implements WebMvcConfigurer {
    static final String[] PAGES = {"/", "/jobs", "/jobs/**", "/compare", "/models", "/sign-in", "/sign-out"};

    private final ConsoleSession session;

    public ConsoleConfiguration(ConsoleSession session) {
        this.session = session;
    }

    @Override
    public void addInterceptors(InterceptorRegistry registry) {
        registry.addInterceptor(new ConsoleGuard(session)).addPathPatterns(PAGES);
    }
}
