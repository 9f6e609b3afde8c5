package dev.selectune.webhooks;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

class TargetPolicyTest {
    private static InetAddress ip(String literal) {
        try {
            return InetAddress.getByName(literal);
        } catch (UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    /** A resolver answering from a fixed table, counting lookups. */
    private static final class Table implements TargetPolicy.Resolver {
        final Map<String, InetAddress[]> answers;
        final AtomicInteger lookups = new AtomicInteger();

        Table(Map<String, InetAddress[]> answers) {
            this.answers = answers;
        }

        @Override
        public InetAddress[] resolve(String host) throws UnknownHostException {
            lookups.incrementAndGet();
            InetAddress[] a = answers.get(host);
            if (a == null) {
                throw new UnknownHostException(host);
            }
            return a;
        }
    }

    private final TargetPolicy secure = new TargetPolicy(false, new Table(Map.of()));

    @Test
    void onlyHttpsByDefault() {
        assertThat(secure.problems("http://hooks.example.com/x")).singleElement().asString().contains("https");
        assertThat(secure.problems("ftp://hooks.example.com/x")).isNotEmpty();
        assertThat(secure.problems("https://hooks.example.com/x?a=1")).isEmpty();
        assertThat(secure.problems("https://user:pw@hooks.example.com/")).isNotEmpty();
        assertThat(secure.problems("/relative")).isNotEmpty();
        assertThat(secure.problems("https://hooks.example.com/" + "a".repeat(2100))).isNotEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"127.0.0.1", "127.1.2.3", "10.0.0.1", "172.16.5.4", "172.31.255.255", "192.168.1.1",
            "169.254.169.254", "100.64.0.1", "0.0.0.0", "224.0.0.1", "255.255.255.255", "[::1]", "[::]",
            "[fd00::1]", "[fe80::1]", "[::ffff:127.0.0.1]", "[::ffff:10.0.0.1]", "[64:ff9b::a00:1]",
            "[2002:a00:1::]", "localhost", "api.localhost"})
    void neverLoopbackPrivateOrLinkLocal(String host) {
        assertThat(secure.problems("https://" + host + "/hook")).isNotEmpty();
        assertThat(new TargetPolicy(true, new Table(Map.of())).problems("http://" + host + "/hook")).isEmpty();
    }

    @Test
    void publicAddressesPass() {
        assertThat(secure.problems("https://93.184.216.34/hook")).isEmpty();
        assertThat(secure.problems("https://[2606:2800:220:1:248:1893:25c8:1946]/hook")).isEmpty();
        assertThat(TargetPolicy.isPublic(ip("8.8.8.8"))).isTrue();
        assertThat(TargetPolicy.isPublic(ip("172.32.0.1"))).isTrue();
        assertThat(TargetPolicy.isPublic(ip("100.128.0.1"))).isTrue();
    }

    @Test
    void aNameIsCheckedAfterResolutionOnEveryAddress() {
        Table dns = new Table(Map.of(
                "rebind.example.com", new InetAddress[] {ip("10.1.2.3")},
                "mixed.example.com", new InetAddress[] {ip("93.184.216.34"), ip("127.0.0.1")},
                "metadata.example.com", new InetAddress[] {ip("169.254.169.254")},
                "good.example.com", new InetAddress[] {ip("93.184.216.34")}));
        TargetPolicy policy = new TargetPolicy(false, dns);
        // Fine before resolution (a name), refused once resolved.
        assertThat(policy.problems("https://rebind.example.com/hook")).isEmpty();
        assertThatThrownBy(() -> policy.resolve("https://rebind.example.com/hook"))
                .isInstanceOf(TargetPolicy.Refused.class).hasMessageContaining("10.1.2.3");
        assertThatThrownBy(() -> policy.resolve("https://mixed.example.com/hook"))
                .isInstanceOf(TargetPolicy.Refused.class).hasMessageContaining("127.0.0.1");
        assertThatThrownBy(() -> policy.resolve("https://metadata.example.com/"))
                .isInstanceOf(TargetPolicy.Refused.class);
        assertThatThrownBy(() -> policy.resolve("https://nowhere.example.com/"))
                .isInstanceOf(TargetPolicy.Refused.class).hasMessageContaining("does not resolve");
    }

    @Test
    void theCheckedAddressIsTheOneConnectedTo() throws Exception {
        Table dns = new Table(Map.of("good.example.com", new InetAddress[] {ip("93.184.216.34")}));
        TargetPolicy.Target t = new TargetPolicy(false, dns).resolve("https://good.example.com/hook?x=1");
        assertThat(t.address().getHostAddress()).isEqualTo("93.184.216.34");
        assertThat(t.host()).isEqualTo("good.example.com");
        assertThat(t.port()).isEqualTo(443);
        assertThat(t.tls()).isTrue();
        assertThat(dns.lookups).hasValue(1);
    }
}
