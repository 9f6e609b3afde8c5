package dev.selectune.webhooks;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;

/**
 * Where deliveries may go. By default only {@code https} URLs whose host resolves to public addresses only: never
 * loopback, private, link-local (cloud metadata), carrier-grade NAT, multicast or reserved ranges. The check runs on
 * the addresses DNS gives at each attempt, and the attempt connects to the address checked (pinned), so a name
 * that resolves to something else a moment later (DNS rebinding) cannot slip past. With
 * {@code selectune.webhooks.allow-insecure-targets=true} {@code http} and any address are allowed.
 */
@Component
public class TargetPolicy {
    static final int MAX_URL_LENGTH = 2048;

    /** Name resolution (a seam for tests: the system resolver by default). */
    @FunctionalInterface
    public interface Resolver {
        InetAddress[] resolve(String host) throws UnknownHostException;
    }

    /** A delivery the policy refuses to send; not retried. */
    public static class Refused extends Exception {
        Refused(String message) {
            super(message);
        }
    }

    /** A URL checked at send time, with the address to connect to. */
    public record Target(URI uri, String host, int port, boolean tls, InetAddress address) {
    }

    private final boolean allowInsecure;
    private final Resolver resolver;

    @Autowired
    public TargetPolicy(WebhookSettings settings) {
        this(settings.allowInsecureTargets(), InetAddress::getAllByName);
    }

    public TargetPolicy(boolean allowInsecure, Resolver resolver) {
        this.allowInsecure = allowInsecure;
        this.resolver = resolver;
    }

    /** What is wrong with {@code url} as a webhook target, before any name is resolved (empty when nothing). */
    public List<String> problems(String url) {
        List<String> problems = new ArrayList<>();
        try {
            parse(url);
        } catch (Refused e) {
            problems.add(e.getMessage());
        }
        return problems;
    }

    /** Resolves the URL's host and picks the address to connect to, or says why it may not be used. */
    public Target resolve(String url) throws Refused {
        URI uri = parse(url);
        String host = bare(uri.getHost());
        InetAddress[] addresses;
        try {
            addresses = resolver.resolve(host);
        } catch (UnknownHostException e) {
            throw new Refused("the host " + host + " does not resolve");
        }
        if (addresses.length == 0) {
            throw new Refused("the host " + host + " does not resolve");
        }
        if (!allowInsecure) {
            // Every address, not just the first: a name with one public and one private address is refused.
            for (InetAddress a : addresses) {
                if (!isPublic(a)) {
                    throw new Refused("the host " + host + " resolves to " + a.getHostAddress()
                            + ", a loopback, private, link-local or reserved address");
                }
            }
        }
        boolean tls = uri.getScheme().equalsIgnoreCase("https");
        int port = uri.getPort() != -1 ? uri.getPort() : tls ? 443 : 80;
        return new Target(uri, host, port, tls, addresses[0]);
    }

    private URI parse(String url) throws Refused {
        if (url == null || url.isBlank()) {
            throw new Refused("a URL is required");
        }
        if (url.length() > MAX_URL_LENGTH) {
            throw new Refused("at most " + MAX_URL_LENGTH + " characters");
        }
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            throw new Refused("not a URL (" + e.getReason() + ")");
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        if (!scheme.equals("https") && !(allowInsecure && scheme.equals("http"))) {
            throw new Refused(allowInsecure ? "must be an http or https URL"
                    : "must be an https URL (http only with selectune.webhooks.allow-insecure-targets=true)");
        }
        if (uri.getHost() == null || uri.getRawUserInfo() != null || uri.getRawFragment() != null) {
            throw new Refused("must be an absolute URL with a host, no user info and no fragment");
        }
        String host = bare(uri.getHost());
        if (!allowInsecure && isLiteral(host)) {
            try {
                InetAddress a = InetAddress.getByName(host);
                if (!isPublic(a)) {
                    throw new Refused(host + " is a loopback, private, link-local or reserved address");
                }
            } catch (UnknownHostException e) {
                throw new Refused("not a valid address: " + host);
            }
        }
        if (!allowInsecure && (host.equalsIgnoreCase("localhost") || host.toLowerCase(Locale.ROOT)
                .endsWith(".localhost"))) {
            throw new Refused(host + " is a loopback name");
        }
        return uri;
    }

    private static String bare(String host) {
        return host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
    }

    private static boolean isLiteral(String host) {
        return host.contains(":") || host.matches("[0-9.]+");
    }

    /** Whether {@code a} is a public unicast address (the only kind a secure target may resolve to). */
    public static boolean isPublic(InetAddress a) {
        if (a.isAnyLocalAddress() || a.isLoopbackAddress() || a.isLinkLocalAddress() || a.isSiteLocalAddress()
                || a.isMulticastAddress()) {
            return false;
        }
        byte[] b = a.getAddress();
        if (a instanceof Inet4Address) {
            return isPublicV4(b);
        }
        if (a instanceof Inet6Address) {
            int first = b[0] & 0xff;
            if ((first & 0xfe) == 0xfc) {
                return false; // fc00::/7 unique local
            }
            if (first == 0x20 && (b[1] & 0xff) == 0x01 && (b[2] & 0xff) == 0x0d && (b[3] & 0xff) == 0xb8) {
                return false; // 2001:db8::/32 documentation
            }
            if (first == 0x20 && (b[1] & 0xff) == 0x02) {
                return isPublicV4(Arrays.copyOfRange(b, 2, 6)); // 6to4 carries an IPv4 address
            }
            boolean zeros96 = Arrays.equals(Arrays.copyOf(b, 10), new byte[10]);
            boolean mapped = zeros96 && (b[10] & 0xff) == 0xff && (b[11] & 0xff) == 0xff;
            boolean compatible = zeros96 && b[10] == 0 && b[11] == 0;
            boolean nat64 = (b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff
                    && (b[3] & 0xff) == 0x9b && Arrays.equals(Arrays.copyOfRange(b, 4, 12), new byte[8]);
            if (mapped || compatible || nat64) {
                return isPublicV4(Arrays.copyOfRange(b, 12, 16));
            }
            return true;
        }
        return false;
    }

    private static boolean isPublicV4(byte[] b) {
        int o0 = b[0] & 0xff;
        int o1 = b[1] & 0xff;
        int o2 = b[2] & 0xff;
        return !(o0 == 0 || o0 == 10 || o0 == 127 || o0 >= 224                 // this network, private, loopback, multicast+reserved
                || (o0 == 100 && o1 >= 64 && o1 <= 127)                        // 100.64/10 carrier-grade NAT
                || (o0 == 169 && o1 == 254)                                    // link-local, cloud metadata
                || (o0 == 172 && o1 >= 16 && o1 <= 31)                         // 172.16/12
                || (o0 == 192 && o1 == 168)                                    // 192.168/16
                || (o0 == 192 && o1 == 0 && (o2 == 0 || o2 == 2))              // IETF protocol, TEST-NET-1
                || (o0 == 198 && (o1 == 18 || o1 == 19))                       // benchmarking
                || (o0 == 198 && o1 == 51 && o2 == 100) || (o0 == 203 && o1 == 0 && o2 == 113));  // TEST-NET-2, -3
    }
}
