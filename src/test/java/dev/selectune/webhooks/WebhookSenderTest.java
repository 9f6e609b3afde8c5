package dev.selectune.webhooks;

import org.junit.jupiter.api.Test;

import javax.net.ssl.SSLContext;
import java.net.InetAddress;
import java.net.SocketTimeoutException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class WebhookSenderTest {
    private final WebhookSender sender = new WebhookSender(Duration.ofSeconds(1), Duration.ofSeconds(1),
            defaultTls());

    private static javax.net.ssl.SSLSocketFactory defaultTls() {
        try {
            return SSLContext.getDefault().getSocketFactory();
        } catch (Exception e) {
            throw new AssertionError(e);
        }
    }

    /** A target named {@code host} whose checked address is the receiver's 127.0.0.1. */
    private static TargetPolicy.Target pinned(Receiver receiver, String host, String path) {
        return new TargetPolicy.Target(URI.create("http://" + host + ":" + receiver.port() + path), host,
                receiver.port(), false, InetAddress.getLoopbackAddress());
    }

    @Test
    void postsToThePinnedAddressWithTheNameAsHost() throws Exception {
        try (Receiver receiver = new Receiver()) {
            // No DNS knows this name: the request can only arrive through the pinned address.
            int code = sender.post(pinned(receiver, "hooks.invalid", "/in?x=1"), Map.of("webhook-id", "msg_1"),
                    "{\"a\":1}".getBytes(StandardCharsets.UTF_8));
            assertThat(code).isEqualTo(200);
            Receiver.Request r = receiver.requests.get(0);
            assertThat(r.path()).isEqualTo("/in?x=1");
            assertThat(r.header("Host")).isEqualTo("hooks.invalid:" + receiver.port());
            assertThat(r.header("webhook-id")).isEqualTo("msg_1");
            assertThat(r.header("Content-Type")).isEqualTo("application/json");
            assertThat(r.body()).isEqualTo("{\"a\":1}");
        }
    }

    @Test
    void redirectsAreNotFollowed() throws Exception {
        try (Receiver receiver = new Receiver().answer(Receiver.Answer.of(307))) {
            assertThat(sender.post(pinned(receiver, "127.0.0.1", "/hook"), Map.of(), new byte[0])).isEqualTo(307);
            Thread.sleep(200);
            assertThat(receiver.to("/redirected")).isEmpty();
            assertThat(receiver.requests).hasSize(1);
        }
    }

    @Test
    void aSlowReceiverTimesOut() throws Exception {
        try (Receiver receiver = new Receiver().answer(new Receiver.Answer(200, Duration.ofSeconds(3)))) {
            long start = System.nanoTime();
            assertThatThrownBy(() -> sender.post(pinned(receiver, "127.0.0.1", "/slow"), Map.of(), new byte[0]))
                    .isInstanceOf(SocketTimeoutException.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofMillis(2500));
        }
    }
}
