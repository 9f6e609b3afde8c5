package dev.selectune.cli;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.selectune.webhooks.Signatures;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * {@code webhooks listen}: a receiver to try webhooks with, on this machine. It verifies each call's Standard Webhooks
 * signature with the tenant's secret, prints one line per call and answers 204 (401 to a call that does not verify,
 * which the service then retries). The service must be told that a loopback target is fine:
 * {@code SELECTUNE_WEBHOOKS_ALLOW_INSECURE_TARGETS=true}.
 */
@Command(name = "webhooks", mixinStandardHelpOptions = true, description = "Tools for webhooks.",
        subcommands = {WebhooksCommand.Listen.class})
public final class WebhooksCommand {
    @Command(name = "listen", mixinStandardHelpOptions = true,
            description = "Receive webhooks on 127.0.0.1, verify their signatures and print them.")
    static final class Listen implements Callable<Integer> {
        private static final Pattern FIELD = Pattern.compile("\"(id|object|status)\"\\s*:\\s*\"([^\"]*)\"");

        @Option(names = "--port", defaultValue = "9000", description = "default: ${DEFAULT-VALUE}")
        int port;
        @Option(names = "--secret", required = true,
                description = "the key of GET /v1/webhooks/default/secret (whsec_...)")
        String secret;
        @Option(names = "--count", defaultValue = "0",
                description = "stop after this many verified calls (default: 0, run until interrupted)")
        int count;
        @Option(names = "--tolerance", defaultValue = "300", description = "seconds a timestamp may be off")
        long tolerance;
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException, InterruptedException {
            if (!secret.startsWith(Signatures.PREFIX)) {
                spec.commandLine().getErr().println("--secret: must start with " + Signatures.PREFIX);
                return 2;
            }
            PrintWriter out = spec.commandLine().getOut();
            CountDownLatch verified = new CountDownLatch(count > 0 ? count : Integer.MAX_VALUE);
            HttpServer server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 0);
            server.createContext("/", exchange -> {
                try (exchange) {
                    String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
                    boolean ok = Signatures.verify(secret, header(exchange, "webhook-id"),
                            header(exchange, "webhook-timestamp"), body, header(exchange, "webhook-signature"),
                            System.currentTimeMillis() / 1000, tolerance);
                    out.printf("%s %s %s%n", ok ? "verified" : "REFUSED (bad signature)",
                            header(exchange, "webhook-id"), summary(body));
                    out.flush();
                    exchange.sendResponseHeaders(ok ? 204 : 401, -1);
                    if (ok) {
                        verified.countDown();
                    }
                }
            });
            server.start();
            out.printf("listening on http://127.0.0.1:%d/ (give this URL as \"webhook\")%n", server.getAddress().getPort());
            out.flush();
            try {
                verified.await();
            } finally {
                server.stop(0);
            }
            return 0;
        }

        private static String header(HttpExchange exchange, String name) {
            return exchange.getRequestHeaders().getFirst(name);
        }

        /** The object, id and status of the body (the job or generation as GET returns it). */
        static String summary(String body) {
            StringBuilder sb = new StringBuilder();
            Matcher m = FIELD.matcher(body);
            Set<String> seen = new HashSet<>();
            while (m.find()) {
                if (seen.add(m.group(1))) {
                    sb.append(sb.isEmpty() ? "" : " ").append(m.group(1)).append('=').append(m.group(2));
                }
            }
            return sb.toString();
        }
    }
}
