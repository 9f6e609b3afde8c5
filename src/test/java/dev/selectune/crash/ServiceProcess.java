package dev.selectune.crash;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.ConnectException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpConnectTimeoutException;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.OptionalLong;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The service as an operator runs it: {@code Main serve} in a child JVM on its embedded defaults (PostgreSQL in
 * {@code dataDir/postgres}), the tiny SD 1.5 pipeline as its model, one tenant's key from the environment. The
 * crash tests start it, talk HTTP to it, and stop it gracefully or kill it.
 */
final class ServiceProcess {
    static final String KEY = "st_crash_0123456789abcdefghij";
    private static final Duration START_TIMEOUT = Duration.ofMinutes(10);

    /** Every JVM started, so that a failed test leaves nothing running ({@link #cleanUp(Path)}). */
    private static final List<Process> STARTED = new ArrayList<>();

    private final Path dataDir;
    private final Path log;
    private final Process process;
    private final int port;
    private final String base;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private ServiceProcess(Path dataDir, Path log, Process process, int port) {
        this.dataDir = dataDir;
        this.log = log;
        this.process = process;
        this.port = port;
        this.base = "http://127.0.0.1:" + port;
    }

    /** Starts the service and waits until it answers; {@code springArgs} such as --selectune.workers.enabled=false. */
    static ServiceProcess start(Path dataDir, String... springArgs) throws IOException, InterruptedException {
        int port = freePort();
        Path log = dataDir.resolve("service.log");
        Files.createDirectories(dataDir);
        List<String> command = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"),
                // A quick start matters more than peak speed here: every kill costs a restart.
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC", "-Xmx1g", "-Dai.djl.offline=true",
                "dev.selectune.cli.Main", "serve", "--server.port=" + port));
        command.addAll(List.of(springArgs));
        ProcessBuilder pb = new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()));
        Map<String, String> env = pb.environment();
        env.put("SELECTUNE_DATA_DIR", dataDir.toString());
        env.put("SELECTUNE_MODELS", "tiny-sd15=" + Path.of("src/test/resources/golden/tiny-sd15").toAbsolutePath());
        env.put("SELECTUNE_API_KEYS", "crash:" + KEY);
        env.put("SELECTUNE_DEVICES", "cpu");
        env.put("OMP_WAIT_POLICY", "PASSIVE");
        Process process = pb.start();
        synchronized (STARTED) {
            STARTED.add(process);
        }
        ServiceProcess service = new ServiceProcess(dataDir, log, process, port);
        service.awaitReady();
        return service;
    }

    private void awaitReady() throws IOException, InterruptedException {
        long deadline = System.nanoTime() + START_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!process.isAlive()) {
                throw new AssertionError("the service exited with " + process.exitValue() + " while starting:\n"
                        + logTail());
            }
            try {
                if (get("/actuator/health/readiness").statusCode() == 200) {
                    return;
                }
            } catch (ConnectException | HttpConnectTimeoutException e) {
                // not listening yet, or too busy starting to accept in time: both are "not ready yet"
            }
            Thread.sleep(200);
        }
        killAll();
        throw new AssertionError("the service did not become ready within " + START_TIMEOUT + ":\n" + logTail());
    }

    HttpResponse<String> get(String path) throws IOException, InterruptedException {
        return http.send(request(path).header("Accept", "application/json").GET().build(),
                HttpResponse.BodyHandlers.ofString());
    }

    HttpResponse<String> postJson(String path, String json) throws IOException, InterruptedException {
        return http.send(request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    /** POST /v1/image-sets with the given JPEGs; returns the set's id. */
    String createImageSet(List<byte[]> jpegs) throws IOException, InterruptedException {
        String boundary = "crash" + System.nanoTime();
        ByteArrayOutputStream body = new ByteArrayOutputStream();
        for (int i = 0; i < jpegs.size(); i++) {
            body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\"" + i
                    + ".jpg\"\r\nContent-Type: image/jpeg\r\n\r\n").getBytes(StandardCharsets.UTF_8));
            body.writeBytes(jpegs.get(i));
            body.writeBytes("\r\n".getBytes(StandardCharsets.UTF_8));
        }
        body.writeBytes(("--" + boundary + "--\r\n").getBytes(StandardCharsets.UTF_8));
        HttpResponse<String> r = http.send(request("/v1/image-sets")
                .header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(),
                HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new AssertionError("image set upload answered " + r.statusCode() + ": " + r.body());
        }
        return field(r.body(), "id");
    }

    private HttpRequest.Builder request(String path) {
        return HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + KEY);
    }

    static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]*)\"").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + name + " in " + json);
        }
        return m.group(1);
    }

    static int intField(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*(\\d+)").matcher(json);
        if (!m.find()) {
            throw new AssertionError("no " + name + " in " + json);
        }
        return Integer.parseInt(m.group(1));
    }

    int port() {
        return port;
    }

    long pid() {
        return process.pid();
    }

    /** The pid in {@code postmaster.pid}, if a postmaster runs (or a killed one left the file). */
    OptionalLong postmasterPid() {
        try {
            List<String> lines = Files.readAllLines(dataDir.resolve("postgres/postmaster.pid"));
            return lines.isEmpty() ? OptionalLong.empty() : OptionalLong.of(Long.parseLong(lines.get(0).trim()));
        } catch (IOException | NumberFormatException e) {
            return OptionalLong.empty();
        }
    }

    /** SIGTERM, as {@code docker stop} or Kubernetes send; waits for the JVM to exit. */
    int terminate(Duration timeout) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(timeout.toMillis(), TimeUnit.MILLISECONDS)) {
            killAll();
            throw new AssertionError("the service did not stop within " + timeout + " of SIGTERM:\n" + logTail());
        }
        return process.exitValue();
    }

    /** {@code kill -9} of the JVM alone: what its children (the postgres watchdog) do then is up to them. */
    void killJava() throws InterruptedException {
        process.destroyForcibly();
        process.waitFor();
    }

    /** {@code kill -9} of the JVM's children (the postgres watchdog) and the JVM, leaving postgres running. */
    void killJavaAndChildren() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        killJava();
    }

    /**
     * {@code kill -9} of everything: the JVM's children, every postgres process of the data directory (the
     * postmaster is not a descendant of the JVM: pg_ctl detaches it), and the JVM. What a power cut or an OOM
     * kill of the container leaves, short of losing the OS page cache.
     */
    void killAll() throws InterruptedException {
        process.descendants().forEach(ProcessHandle::destroyForcibly);
        List<ProcessHandle> postgres = new ArrayList<>();
        postmasterPid().ifPresent(pid -> ProcessHandle.of(pid).ifPresent(pm -> {
            postgres.add(pm);
            pm.descendants().forEach(postgres::add);
        }));
        postgres.forEach(ProcessHandle::destroyForcibly);
        killJava();
        for (ProcessHandle p : postgres) {
            p.onExit().orTimeout(30, TimeUnit.SECONDS).join();
        }
    }

    /** Kills every service JVM still running, its children, and every postgres whose data lives under root. */
    static void cleanUp(Path root) throws IOException {
        synchronized (STARTED) {
            for (Process p : STARTED) {
                p.descendants().forEach(ProcessHandle::destroyForcibly);
                p.destroyForcibly();
            }
            STARTED.clear();
        }
        Path real = root.toRealPath();
        ProcessHandle.allProcesses().filter(p -> p.info().command().orElse("").endsWith("/postgres")).filter(p -> {
            try {
                return Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "cwd")).startsWith(real);
            } catch (IOException e) {
                return false;
            }
        }).forEach(ProcessHandle::destroyForcibly);
    }

    String logTail() {
        try {
            List<String> lines = Files.readAllLines(log);
            return String.join("\n", lines.subList(Math.max(0, lines.size() - 60), lines.size()));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }
}
