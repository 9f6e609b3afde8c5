package dev.selectune.deploy;

import ai.djl.pytorch.jni.LibUtils;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * No Docker engine here, so the Dockerfile is checked by a linter (dockerfile-utils, pinned in tools/) and by
 * reading it, and its build-time libtorch helper (deploy/docker/FetchLibtorch.java) is compiled and run the way
 * the libtorch stage runs it: it must fill
 * ENGINE_CACHE_DIR with the CPU libtorch and its JNI library, and refuse a CUDA flavor when DJL would silently
 * take the bundled CPU build instead.
 */
class DockerfileTest {

    private static final Path DOCKERFILE = ExternalTool.PROJECT.resolve("Dockerfile");
    private static final Path FETCH = ExternalTool.PROJECT.resolve("deploy/docker/FetchLibtorch.java");

    /** The compiled helper and one engine folder for both runs: the CPU libtorch (430 MB) is extracted once. */
    @TempDir
    static Path shared;
    private static Path classes;

    @BeforeAll
    static void compileFetchHelper() throws IOException {
        classes = Files.createDirectories(shared.resolve("classes"));
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = javac.run(null, null, errors, "-d", classes.toString(), "-cp", runtimeClasspath(),
                FETCH.toString());
        assertThat(status).as("javac FetchLibtorch.java: %s", errors.toString(StandardCharsets.UTF_8)).isZero();
    }

    @Test
    void stagesSelectTheFlavorAndTheRuntimeIsANonRootServiceWithAHealthCheck() throws IOException {
        String dockerfile = Files.readString(DOCKERFILE);
        List<String> stages = new ArrayList<>();
        Matcher from = Pattern.compile("(?m)^FROM\\s+(\\S+)(?:\\s+AS\\s+(\\S+))?").matcher(dockerfile);
        while (from.find()) {
            stages.add(from.group(2));
        }
        assertThat(stages).containsExactly("build", "jre", "base-cpu", "base-cu128", "base", "libtorch", "runtime");
        assertThat(dockerfile).contains("ARG FLAVOR=cpu", "FROM base-${FLAVOR} AS base",
                "ARG CUDA_IMAGE=nvidia/cuda:12.8");

        String runtime = dockerfile.substring(dockerfile.indexOf("AS runtime"));
        Matcher user = Pattern.compile("(?m)^USER\\s+(\\S+)").matcher(runtime);
        assertThat(user.find()).as("USER in the runtime stage").isTrue();
        assertThat(user.group(1)).doesNotStartWith("root").doesNotStartWith("0");
        assertThat(runtime).containsPattern("(?m)^HEALTHCHECK .*\\n?.*/actuator/health/liveness")
                .containsPattern("(?m)^EXPOSE 8080$")
                .contains("VOLUME [\"/var/lib/selectune/data\", \"/var/cache/djl\", \"/models\"]")
                .contains("PYTORCH_LIBRARY_PATH=/opt/djl/libtorch", "-Dai.djl.offline=true");
    }

    @Test
    void dockerfileLintPasses() {
        ExternalTool lint = ExternalTool.require("dockerfile-utils", "npm ci --prefix tools (pins dockerfile-utils)");
        ExternalTool.Result result = lint.run("lint", "Dockerfile");
        assertThat(result.ok()).as("dockerfile-utils lint Dockerfile:\n%s", result.output()).isTrue();
    }

    @Test
    void dockerfileLintRejectsABadInstruction(@TempDir Path dir) throws IOException {
        ExternalTool lint = ExternalTool.require("dockerfile-utils", "npm ci --prefix tools (pins dockerfile-utils)");
        Path bad = Files.writeString(dir.resolve("Dockerfile"),
                "FROM eclipse-temurin:17-jre\nHEALTHCHECK --interval=often CMD true\nEXPOSE http\n");
        ExternalTool.Result result = lint.run("lint", bad.toString());
        assertThat(result.ok()).isFalse();
        assertThat(result.output()).contains("invalid duration often").contains("Invalid containerPort: http");
    }

    @Test
    void everythingTheBuildCopiesIsInTheContextAndNotIgnored() throws IOException {
        List<String> ignore = Files.readAllLines(ExternalTool.PROJECT.resolve(".dockerignore")).stream()
                .map(String::trim).filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        assertThat(ignore.get(0)).as("the context starts empty and lists what it needs").isEqualTo("**");
        Matcher copy = Pattern.compile("(?m)^COPY\\s+(?!--from)(.+)\\s+\\S+$").matcher(Files.readString(DOCKERFILE));
        int copies = 0;
        while (copy.find()) {
            for (String source : copy.group(1).trim().split("\\s+")) {
                Path path = ExternalTool.PROJECT.resolve(source);
                assertThat(path).as("COPY source %s", source).exists();
                assertThat(ignore).as("%s is let into the build context", source).anyMatch(rule ->
                        rule.startsWith("!") && (source + "/").startsWith(rule.substring(1).replaceAll("/$", "") + "/")
                                || rule.startsWith("!") && rule.substring(1).startsWith(source + "/"));
                copies++;
            }
        }
        assertThat(copies).isGreaterThanOrEqualTo(4);
    }

    @Test
    void fetchHelperFillsTheEngineFolderWithTheCpuLibtorch() throws Exception {
        Path engines = shared.resolve("engines");
        Run run = fetch(engines, "cpu");
        assertThat(run.exitCode).as(run.output).isZero();
        String[] lines = run.output.strip().split("\n");
        Path libtorch = Path.of(lines[lines.length - 1].strip());
        assertThat(libtorch).startsWith(engines.toRealPath());
        assertThat(libtorch.getFileName().toString()).contains("-cpu-");
        assertThat(libtorch.resolve("libtorch.so")).exists();
        try (var files = Files.list(libtorch)) {
            assertThat(files.map(f -> f.getFileName().toString())).anyMatch(n -> n.endsWith("libdjl_torch.so"));
        }
    }

    @Test
    void fetchHelperRefusesACudaFlavorWhenTheCpuLibtorchIsOnTheClasspath() throws Exception {
        Run run = fetch(shared.resolve("engines"), "cu128");
        assertThat(run.exitCode).as(run.output).isEqualTo(1);
        assertThat(run.output).contains("wanted libtorch flavor cu128 but DJL chose").contains("-cpu-");
    }

    // ---------------------------------------------------------------------------------------------------------

    /** DJL's jars and the bundled CPU libtorch, as the image's /tmp/deps classpath has them for FLAVOR=cpu. */
    private static String runtimeClasspath() {
        Set<String> jars = new LinkedHashSet<>();
        for (Class<?> c : List.of(LibUtils.class, ai.djl.engine.Engine.class, com.google.gson.Gson.class,
                com.sun.jna.Native.class, org.slf4j.Logger.class,
                org.apache.commons.compress.archivers.ArchiveEntry.class)) {
            jars.add(location(c.getProtectionDomain().getCodeSource().getLocation()));
        }
        jars.add(jarOf("jnilib/pytorch.properties"));
        jars.add(jarOf("native/lib/pytorch.properties"));
        return String.join(File.pathSeparator, jars);
    }

    private static String jarOf(String resource) {
        URL url = DockerfileTest.class.getClassLoader().getResource(resource);
        assertThat(url).as("%s on the test classpath", resource).isNotNull();
        try {
            return location(((JarURLConnection) url.openConnection()).getJarFileURL());
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String location(URL url) {
        try {
            return Path.of(url.toURI()).toString();
        } catch (URISyntaxException e) {
            throw new IllegalStateException(url.toString(), e);
        }
    }

    private record Run(int exitCode, String output) {
    }

    private static Run fetch(Path engines, String flavor) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        ProcessBuilder builder = new ProcessBuilder(java, "-cp", classes + File.pathSeparator + runtimeClasspath(),
                "FetchLibtorch").redirectErrorStream(true);
        Map<String, String> env = builder.environment();
        env.put("ENGINE_CACHE_DIR", engines.toString());
        env.put("PYTORCH_FLAVOR", flavor);
        env.remove("PYTORCH_LIBRARY_PATH");
        env.remove("PYTORCH_VERSION");
        Process process = builder.start();
        byte[] output = process.getInputStream().readAllBytes();
        assertThat(process.waitFor(2, TimeUnit.MINUTES)).isTrue();
        return new Run(process.exitValue(), new String(output, StandardCharsets.UTF_8));
    }
}
