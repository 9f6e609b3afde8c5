package dev.selectune.webhooks;

import com.sun.net.httpserver.HttpServer;

import java.io.IOException;
import java.io.InputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.function.Function;

/**
 * An in-process webhook receiver on 127.0.0.1 (JDK HttpServer) that records every request and answers each with
 * what the test scripted: a status code, after an optional delay (to make the sender time out).
 */
public final class Receiver implements AutoCloseable {
    /** One request as received. */
    public record Request(String path, Map<String, List<String>> headers, String body, Instant at) {
        public String header(String name) {
            return headers.entrySet().stream().filter(e -> e.getKey().equalsIgnoreCase(name))
                    .map(e -> e.getValue().get(0)).findFirst().orElse(null);
        }
    }

    /** What to answer: a status code after a delay. */
    public record Answer(int status, Duration delay) {
        public static Answer of(int status) {
            return new Answer(status, Duration.ZERO);
        }
    }

    private final HttpServer server;
    public final List<Request> requests = new CopyOnWriteArrayList<>();
    private final ConcurrentLinkedQueue<Answer> script = new ConcurrentLinkedQueue<>();
    private volatile Function<Request, Answer> otherwise = r -> Answer.of(200);

    public Receiver() throws IOException {
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newFixedThreadPool(8));
        server.createContext("/", exchange -> {
            byte[] body;
            try (InputStream in = exchange.getRequestBody()) {
                body = in.readAllBytes();
            }
            Request r = new Request(exchange.getRequestURI().toString(), Map.copyOf(exchange.getRequestHeaders()),
                    new String(body, StandardCharsets.UTF_8), Instant.now());
            requests.add(r);
            Answer a = script.poll();
            if (a == null) {
                a = otherwise.apply(r);
            }
            try {
                Thread.sleep(a.delay().toMillis());
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            if (a.status() >= 300 && a.status() < 400) {
                exchange.getResponseHeaders().add("Location", url("/redirected"));
            }
            exchange.sendResponseHeaders(a.status(), -1);
            exchange.close();
        });
        server.start();
    }

    /** The next requests get these answers, in order; after them, 200. */
    public Receiver answer(Answer... answers) {
        script.addAll(List.of(answers));
        return this;
    }

    public String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    public int port() {
        return server.getAddress().getPort();
    }

    public List<Request> to(String path) {
        return requests.stream().filter(r -> r.path().equals(path)).toList();
    }

    /**
     * Whether {@code secret} verifies {@code r} the way a receiver does it (written out here rather than with the
     * service's Signatures): HMAC-SHA256 keyed with the base64-decoded part after {@code whsec_}, over
     * {@code id.timestamp.body}, compared with each space-separated {@code v1,} entry of the header.
     */
    public static boolean verifies(Request r, String secret) throws Exception {
        javax.crypto.Mac mac = javax.crypto.Mac.getInstance("HmacSHA256");
        mac.init(new javax.crypto.spec.SecretKeySpec(java.util.Base64.getDecoder()
                .decode(secret.substring("whsec_".length())), "HmacSHA256"));
        String expected = "v1," + java.util.Base64.getEncoder().encodeToString(mac.doFinal(
                (r.header("webhook-id") + "." + r.header("webhook-timestamp") + "." + r.body())
                        .getBytes(StandardCharsets.UTF_8)));
        for (String signature : r.header("webhook-signature").split(" ")) {
            if (java.security.MessageDigest.isEqual(signature.getBytes(StandardCharsets.UTF_8),
                    expected.getBytes(StandardCharsets.UTF_8))) {
                return true;
            }
        }
        return false;
    }

    @Override
    public void close() {
        server.stop(0);
        ((java.util.concurrent.ExecutorService) server.getExecutor()).shutdownNow();
    }
}
