package dev.selectune.cli;

import dev.selectune.webhooks.Signatures;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.ServerSocket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;

import static org.assertj.core.api.Assertions.assertThat;

/** {@code webhooks listen}: a signed call is printed as verified and answered 204, a forged one 401. */
class WebhooksCommandTest {
    @Test
    void verifiesSignedCallsAndRefusesForgedOnes() throws Exception {
        int port;
        try (ServerSocket s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        String secret = Signatures.newSecret();
        StringWriter out = new StringWriter();
        CommandLine cli = new CommandLine(new WebhooksCommand());
        cli.setOut(new PrintWriter(out, true));
        CompletableFuture<Integer> listening = CompletableFuture.supplyAsync(() -> cli.execute("listen", "--port",
                "" + port, "--secret", secret, "--count", "1"));
        HttpClient http = HttpClient.newHttpClient();
        String body = "{\"id\":\"gen_1\",\"object\":\"generation\",\"status\":\"succeeded\",\"request\":{\"id\":\"x\"}}";
        long now = System.currentTimeMillis() / 1000;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        int forged = -1;
        while (forged < 0) {
            try {
                forged = post(http, port, "msg_1", now, body, Signatures.sign(Signatures.newSecret(), "msg_1", now, body));
            } catch (java.net.ConnectException e) {
                assertThat(System.nanoTime()).as("listening within 20 s").isLessThan(deadline);
                Thread.sleep(100);
            }
        }
        assertThat(forged).isEqualTo(401);
        assertThat(post(http, port, "msg_2", now, body, Signatures.sign(secret, "msg_2", now, body))).isEqualTo(204);
        assertThat(listening.get(20, TimeUnit.SECONDS)).isZero();
        assertThat(out.toString()).contains("REFUSED (bad signature) msg_1")
                .contains("verified msg_2 id=gen_1 object=generation status=succeeded");
    }

    private static int post(HttpClient http, int port, String id, long timestamp, String body, String signature)
            throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/hook"))
                .header("webhook-id", id).header("webhook-timestamp", "" + timestamp)
                .header("webhook-signature", signature).POST(HttpRequest.BodyPublishers.ofString(body)).build();
        return http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
    }
}
