package dev.selectune.webhooks;

import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.stereotype.Component;

import javax.net.ssl.SNIHostName;
import javax.net.ssl.SSLContext;
import javax.net.ssl.SSLParameters;
import javax.net.ssl.SSLSocket;
import javax.net.ssl.SSLSocketFactory;
import java.io.BufferedInputStream;
import java.io.BufferedOutputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.nio.charset.StandardCharsets;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

/**
 * One HTTP/1.1 POST to a {@link TargetPolicy.Target}, over a socket opened to the target's checked address (the
 * pinning a general HTTP client cannot promise: it would resolve the name again). For {@code https} the TLS session
 * names the host (SNI) and checks the certificate against it. Only the status line is read (at most 1 KiB, within
 * the read timeout as a whole, so a receiver dripping bytes cannot hold the attempt); a redirect is a status like
 * any other, never followed.
 */
@Component
public class WebhookSender {
    private static final int MAX_STATUS_LINE = 1024;

    private final Duration connectTimeout;
    private final Duration readTimeout;
    private final SSLSocketFactory tls;

    @Autowired
    public WebhookSender(WebhookSettings settings) {
        this(settings.connectTimeout(), settings.readTimeout(), defaultTls());
    }

    public WebhookSender(Duration connectTimeout, Duration readTimeout, SSLSocketFactory tls) {
        this.connectTimeout = connectTimeout;
        this.readTimeout = readTimeout;
        this.tls = tls;
    }

    private static SSLSocketFactory defaultTls() {
        try {
            return SSLContext.getDefault().getSocketFactory();
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("no default TLS context", e);
        }
    }

    /** Sends {@code body} with {@code headers} and returns the response's status code. */
    public int post(TargetPolicy.Target target, Map<String, String> headers, byte[] body) throws IOException {
        try (Socket raw = new Socket()) {
            raw.connect(new InetSocketAddress(target.address(), target.port()), (int) connectTimeout.toMillis());
            raw.setSoTimeout((int) readTimeout.toMillis());
            Socket socket = target.tls() ? handshake(raw, target) : raw;
            OutputStream out = new BufferedOutputStream(socket.getOutputStream());
            out.write(head(target, headers, body.length).getBytes(StandardCharsets.ISO_8859_1));
            out.write(body);
            out.flush();
            return status(socket, System.nanoTime() + readTimeout.toNanos());
        }
    }

    private SSLSocket handshake(Socket raw, TargetPolicy.Target target) throws IOException {
        SSLSocket ssl = (SSLSocket) tls.createSocket(raw, target.host(), target.port(), true);
        SSLParameters params = ssl.getSSLParameters();
        params.setEndpointIdentificationAlgorithm("HTTPS");
        if (!target.host().contains(":") && !target.host().matches("[0-9.]+")) {
            params.setServerNames(List.of(new SNIHostName(target.host())));
        }
        ssl.setSSLParameters(params);
        ssl.startHandshake();
        return ssl;
    }

    private static String head(TargetPolicy.Target target, Map<String, String> headers, int length) {
        String path = target.uri().getRawPath() == null || target.uri().getRawPath().isEmpty() ? "/"
                : target.uri().getRawPath();
        if (target.uri().getRawQuery() != null) {
            path += "?" + target.uri().getRawQuery();
        }
        StringBuilder sb = new StringBuilder("POST ").append(path).append(" HTTP/1.1\r\n")
                .append("Host: ").append(target.uri().getRawAuthority()).append("\r\n")
                .append("User-Agent: Selectune-Webhooks/1\r\n")
                .append("Content-Type: application/json\r\n")
                .append("Content-Length: ").append(length).append("\r\n")
                .append("Connection: close\r\n");
        headers.forEach((name, value) -> sb.append(name).append(": ").append(value).append("\r\n"));
        return sb.append("\r\n").toString();
    }

    /** The first final status code (1xx interim responses and their headers are skipped). */
    private static int status(Socket socket, long deadline) throws IOException {
        InputStream in = new BufferedInputStream(socket.getInputStream());
        while (true) {
            String line = line(socket, in, deadline);
            String[] parts = line.split(" ", 3);
            if (parts.length < 2 || !parts[0].startsWith("HTTP/1.") || !parts[1].matches("[1-5][0-9][0-9]")) {
                throw new IOException("not an HTTP/1.x status line: " + line.substring(0, Math.min(80, line.length())));
            }
            int code = Integer.parseInt(parts[1]);
            if (code >= 200) {
                return code;
            }
            while (!line(socket, in, deadline).isEmpty()) {
                // the interim response's headers
            }
        }
    }

    private static String line(Socket socket, InputStream in, long deadline) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        while (true) {
            long left = (deadline - System.nanoTime()) / 1_000_000;
            if (left <= 0) {
                throw new SocketTimeoutException("no response within the read timeout");
            }
            socket.setSoTimeout((int) Math.max(1, left));
            int c = in.read();
            if (c == -1) {
                throw new IOException("the receiver closed the connection without a response");
            }
            if (c == '\n') {
                String s = bytes.toString(StandardCharsets.ISO_8859_1);
                return s.endsWith("\r") ? s.substring(0, s.length() - 1) : s;
            }
            if (bytes.size() >= MAX_STATUS_LINE) {
                throw new IOException("response line longer than " + MAX_STATUS_LINE + " bytes");
            }
            bytes.write(c);
        }
    }
}
