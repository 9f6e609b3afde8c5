package dev.selectune.cli;

import dev.selectune.SelectuneApplication;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

import java.io.IOException;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code bench api}: starts the service on its embedded defaults (fresh data folder, workers off, auth on), seeds
 * queued jobs over HTTP (one client: the latency of a durable write), then runs concurrent clients on loopback for a
 * fixed time, each alternating "get a random job" and "list the newest 20 jobs", then as many clients creating jobs,
 * and prints requests per second, latency percentiles and errors.
 */
@Command(name = "api", mixinStandardHelpOptions = true,
        description = "Load benchmark of the REST API: concurrent clients polling job status and listing jobs.")
public final class BenchApiCommand implements Callable<Integer> {
    private static final String KEY = "st_bench_0123456789abcdefghij";

    @Option(names = "--seconds", defaultValue = "15", description = "measured duration (default ${DEFAULT-VALUE})")
    int seconds;
    @Option(names = "--warmup", defaultValue = "5", description = "unmeasured warm-up seconds (default ${DEFAULT-VALUE})")
    int warmup;
    @Option(names = "--clients", defaultValue = "16", description = "concurrent clients (default ${DEFAULT-VALUE})")
    int clients;
    @Option(names = "--jobs", defaultValue = "200", description = "jobs seeded before the run (default ${DEFAULT-VALUE})")
    int jobs;
    @Option(names = "--model", defaultValue = "src/test/resources/golden/tiny-sd15",
            description = "a diffusers folder to validate jobs against (default ${DEFAULT-VALUE})")
    Path model;
    @Option(names = "--image", defaultValue = "examples/images/dog/00.jpg",
            description = "the image of the seeded image set (default ${DEFAULT-VALUE})")
    Path image;

    @Override
    public Integer call() throws Exception {
        Path dataDir = Files.createTempDirectory("selectune-bench");
        int port = freePort();
        System.out.printf("starting the service on port %d (embedded PostgreSQL in %s, workers off)%n", port, dataDir);
        try (ConfigurableApplicationContext ignored = new SpringApplicationBuilder(SelectuneApplication.class)
                .logStartupInfo(false).run("--server.port=" + port, "--selectune.data-dir=" + dataDir,
                        "--selectune.workers.enabled=false", "--selectune.api-keys=bench:" + KEY,
                        "--selectune.models=tiny=" + model.toAbsolutePath(), "--logging.level.root=WARN",
                        "--logging.level.io.zonky=ERROR")) {
            HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
            String base = "http://127.0.0.1:" + port;
            String setId = imageSet(http, base);
            long[] seedLatency = new long[jobs];
            List<String> ids = new ArrayList<>();
            for (int i = 0; i < jobs; i++) {
                long t0 = System.nanoTime();
                ids.add(createJob(http, base, setId, i));
                seedLatency[i] = System.nanoTime() - t0;
            }
            System.out.printf("seeded %d queued jobs; %d clients, %d s warm-up, %d s measured%n", ids.size(), clients,
                    warmup, seconds);
            run(http, base, ids, setId, warmup, false, false);
            run(http, base, ids, setId, seconds, true, false);
            System.out.printf("%nwrites: POST /v1/jobs (a job row and its event, committed and fsynced)%n");
            printHeader();
            line("1 client, sequential", seedLatency, sum(seedLatency) / 1e9);
            run(http, base, ids, setId, warmup, false, true);
            run(http, base, ids, setId, seconds, true, true);
        }
        return 0;
    }

    private String imageSet(HttpClient http, String base) throws IOException, InterruptedException {
        String boundary = "bench" + System.nanoTime();
        byte[] img = Files.readAllBytes(image);
        var body = new java.io.ByteArrayOutputStream();
        body.writeBytes(("--" + boundary + "\r\nContent-Disposition: form-data; name=\"images\"; filename=\"0.jpg\"\r\n"
                + "Content-Type: image/jpeg\r\n\r\n").getBytes());
        body.writeBytes(img);
        body.writeBytes(("\r\n--" + boundary + "--\r\n").getBytes());
        HttpResponse<String> set = http.send(HttpRequest.newBuilder(URI.create(base + "/v1/image-sets"))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "multipart/form-data; boundary=" + boundary)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body.toByteArray())).build(), HttpResponse.BodyHandlers.ofString());
        return field(set.body(), "id");
    }

    private static HttpRequest jobRequest(String base, String setId, int i) {
        String spec = "{\"base_model\":\"tiny\",\"image_set_id\":\"" + setId + "\",\"instance_prompt\":\"a photo of"
                + " sks dog\",\"steps\":" + (10 + i % 1000) + ",\"metadata\":{\"bench\":\"" + i + "\"}}";
        return HttpRequest.newBuilder(URI.create(base + "/v1/jobs"))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(spec)).build();
    }

    private static String createJob(HttpClient http, String base, String setId, int i)
            throws IOException, InterruptedException {
        HttpResponse<String> r = http.send(jobRequest(base, setId, i), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("seeding failed: " + r.statusCode() + " " + r.body());
        }
        return field(r.body(), "id");
    }

    /** Reads (alternating a job and the list), or with {@code writes} every client creating jobs. */
    private void run(HttpClient http, String base, List<String> ids, String setId, int duration, boolean report,
                     boolean writes) throws InterruptedException {
        long end = System.nanoTime() + Duration.ofSeconds(duration).toNanos();
        long[][] getLat = new long[clients][];
        long[][] listLat = new long[clients][];
        AtomicLong errors = new AtomicLong();
        CountDownLatch done = new CountDownLatch(clients);
        for (int c = 0; c < clients; c++) {
            int client = c;
            Thread t = new Thread(() -> {
                SplittableRandom random = new SplittableRandom(client);
                LongList gets = new LongList();
                LongList lists = new LongList();
                boolean list = false;
                while (System.nanoTime() < end) {
                    String path = list ? "/v1/jobs?limit=20" : "/v1/jobs/" + ids.get(random.nextInt(ids.size()));
                    HttpRequest request = writes ? jobRequest(base, setId, random.nextInt(1_000_000))
                            : HttpRequest.newBuilder(URI.create(base + path)).header("Authorization", "Bearer " + KEY)
                                    .GET().build();
                    long t0 = System.nanoTime();
                    try {
                        HttpResponse<byte[]> r = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
                        if (r.statusCode() != (writes ? 201 : 200)) {
                            errors.incrementAndGet();
                        }
                    } catch (IOException | InterruptedException e) {
                        errors.incrementAndGet();
                    }
                    (list ? lists : gets).add(System.nanoTime() - t0);
                    list = !writes && !list;
                }
                getLat[client] = gets.toArray();
                listLat[client] = lists.toArray();
                done.countDown();
            }, "bench-client-" + c);
            t.start();
        }
        done.await();
        if (!report) {
            return;
        }
        long[] gets = concat(getLat);
        long[] lists = concat(listLat);
        if (writes) {
            line(clients + " clients", gets, duration);
            System.out.printf("errors: %d%n", errors.get());
            return;
        }
        long[] all = concat(new long[][] {gets, lists});
        printHeader();
        line("GET /v1/jobs/{id}", gets, duration);
        line("GET /v1/jobs?limit=20", lists, duration);
        line("all", all, duration);
        System.out.printf("errors: %d%n", errors.get());
    }

    private static void printHeader() {
        System.out.printf(Locale.ROOT, "%-22s %9s %9s %9s %9s %9s%n", "", "requests", "req/s", "p50 ms", "p99 ms", "max ms");
    }

    private static double sum(long[] values) {
        return Arrays.stream(values).asDoubleStream().sum();
    }

    private static void line(String name, long[] lat, double seconds) {
        Arrays.sort(lat);
        System.out.printf(Locale.ROOT, "%-22s %9d %9.0f %9.2f %9.2f %9.2f%n", name, lat.length,
                lat.length / (double) seconds, pct(lat, 0.50), pct(lat, 0.99), lat.length == 0 ? 0 : lat[lat.length - 1] / 1e6);
    }

    private static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }

    private static long[] concat(long[][] parts) {
        return Arrays.stream(parts).flatMapToLong(Arrays::stream).toArray();
    }

    private static String field(String json, String name) {
        Matcher m = Pattern.compile("\"" + name + "\"\\s*:\\s*\"([^\"]+)\"").matcher(json);
        if (!m.find()) {
            throw new IllegalStateException("no " + name + " in " + json);
        }
        return m.group(1);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0)) {
            return s.getLocalPort();
        }
    }

    /** A growable long array: latencies without boxing. */
    private static final class LongList {
        private long[] values = new long[1024];
        private int size;

        void add(long v) {
            if (size == values.length) {
                values = Arrays.copyOf(values, size * 2);
            }
            values[size++] = v;
        }

        long[] toArray() {
            return Arrays.copyOf(values, size);
        }
    }
}
