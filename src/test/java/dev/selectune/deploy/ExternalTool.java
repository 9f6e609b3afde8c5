package dev.selectune.deploy;

import org.junit.jupiter.api.Assumptions;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import static org.junit.jupiter.api.Assertions.fail;

/**
 * A command-line checker the deployment tests run (docker-compose, promtool, redocly). Found on PATH or in
 * {@code tools/node_modules/.bin} (installed by {@code npm ci} in tools/). A missing tool skips the test on a
 * developer's machine but fails it when {@code CI=true}: CI must run every check.
 */
record ExternalTool(String name, Path executable) {

    static final Path PROJECT = Path.of("").toAbsolutePath();

    /** The tool, or the test is skipped (locally) or failed (CI) with the install hint. */
    static ExternalTool require(String name, String installHint) {
        Optional<Path> found = find(name);
        if (found.isEmpty()) {
            String message = name + " not found on PATH or in tools/node_modules/.bin; install it: " + installHint;
            if ("true".equalsIgnoreCase(System.getenv("CI"))) {
                fail(message + " (CI=true: the deployment checks must run in CI)");
            }
            Assumptions.abort(message);
        }
        return new ExternalTool(name, found.get());
    }

    static Optional<Path> find(String name) {
        List<Path> dirs = new ArrayList<>();
        dirs.add(PROJECT.resolve("tools/node_modules/.bin"));
        String path = System.getenv().getOrDefault("PATH", "");
        for (String dir : path.split(File.pathSeparator)) {
            if (!dir.isBlank()) {
                dirs.add(Path.of(dir));
            }
        }
        return dirs.stream().map(d -> d.resolve(name)).filter(Files::isExecutable).findFirst();
    }

    /** Runs the tool with the arguments in the project folder; output is stdout and stderr together. */
    Result run(Map<String, String> env, String... args) {
        List<String> command = new ArrayList<>();
        command.add(executable.toString());
        command.addAll(List.of(args));
        ProcessBuilder builder = new ProcessBuilder(command).directory(PROJECT.toFile()).redirectErrorStream(true);
        builder.environment().putAll(env);
        try {
            Path log = Files.createTempFile("selectune-" + name, ".log");
            try {
                Process process = builder.redirectOutput(log.toFile()).start();
                Duration timeout = Duration.ofMinutes(2);
                if (!process.waitFor(timeout.toSeconds(), TimeUnit.SECONDS)) {
                    process.destroyForcibly();
                    fail(name + " " + String.join(" ", args) + " did not finish within " + timeout);
                }
                return new Result(process.exitValue(), Files.readString(log, StandardCharsets.UTF_8));
            } finally {
                Files.deleteIfExists(log);
            }
        } catch (IOException e) {
            throw new IllegalStateException("cannot run " + command, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted running " + command, e);
        }
    }

    Result run(String... args) {
        return run(Map.of(), args);
    }

    record Result(int exitCode, String output) {
        boolean ok() {
            return exitCode == 0;
        }
    }
}
