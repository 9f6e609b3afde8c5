package dev.selectune.cli;

import dev.selectune.SelectuneApplication;
import org.springframework.boot.SpringApplication;
import picocli.CommandLine.Command;
import picocli.CommandLine.Unmatched;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;

/**
 * Starts the REST service. Spring options pass through ({@code --server.port=9090}, {@code --selectune.models=...});
 * environment variables work as usual ({@code SELECTUNE_MODELS}, {@code SPRING_DATASOURCE_URL}, ...).
 */
@Command(name = "serve", mixinStandardHelpOptions = true,
        description = "Start the REST service (the default command). Spring options such as --server.port=9090 pass"
                + " through.")
public final class ServeCommand implements Callable<Integer> {
    @Unmatched
    private List<String> springArgs = new ArrayList<>();

    @Override
    public Integer call() {
        SpringApplication.run(SelectuneApplication.class, springArgs.toArray(String[]::new));
        return 0;
    }
}
