package dev.selectune.webhooks;

import org.springframework.boot.context.properties.ConfigurationProperties;

import java.time.Duration;

/**
 * The {@code selectune.webhooks.*} settings (docs/service.md, "Webhooks").
 *
 * @param allowInsecureTargets {@code http} URLs and loopback, private or link-local addresses are allowed (for
 *                             development and tests only; env {@code SELECTUNE_WEBHOOKS_ALLOW_INSECURE_TARGETS})
 * @param dispatch             this replica sends deliveries (every replica may: claims never overlap)
 * @param progressInterval     a subject's {@code progress} deliveries are at least this far apart
 * @param poll                 how often an idle dispatcher looks for due deliveries
 * @param senders              attempts one replica sends at once
 * @param connectTimeout       to open the connection (and finish the TLS handshake)
 * @param readTimeout          to read the receiver's status line once the body is sent
 * @param lease                how long a claimed attempt is reserved for its dispatcher; another replica takes the
 *                             delivery over only after it ends (kept above both timeouts)
 * @param retryBase            the first retry's delay; each next one is three times longer (with jitter)
 * @param retryMaxDelay        the longest delay between two attempts
 * @param retryFor             a delivery is tried until this long after it was made (a last attempt at the end)
 * @param maxBodyBytes         the largest body sent; a larger one fails without being sent
 * @param secretGrace          after a rotation the previous secret also signs for this long
 */
@ConfigurationProperties("selectune.webhooks")
public record WebhookSettings(boolean allowInsecureTargets, Boolean dispatch, Duration progressInterval,
                              Duration poll, int senders, Duration connectTimeout, Duration readTimeout,
                              Duration lease, Duration retryBase, Duration retryMaxDelay, Duration retryFor,
                              int maxBodyBytes, Duration secretGrace) {
    public WebhookSettings {
        dispatch = dispatch == null || dispatch;
        progressInterval = progressInterval == null ? Duration.ofSeconds(5) : progressInterval;
        poll = poll == null ? Duration.ofSeconds(1) : poll;
        senders = senders <= 0 ? 4 : senders;
        connectTimeout = connectTimeout == null ? Duration.ofSeconds(5) : connectTimeout;
        readTimeout = readTimeout == null ? Duration.ofSeconds(10) : readTimeout;
        Duration atLeast = connectTimeout.plus(readTimeout).multipliedBy(2);
        lease = lease == null || lease.compareTo(atLeast) < 0 ? max(atLeast, Duration.ofSeconds(60), lease) : lease;
        retryBase = retryBase == null ? Duration.ofSeconds(5) : retryBase;
        retryMaxDelay = retryMaxDelay == null ? Duration.ofHours(4) : retryMaxDelay;
        retryFor = retryFor == null ? Duration.ofHours(26) : retryFor;
        maxBodyBytes = maxBodyBytes <= 0 ? 256 * 1024 : maxBodyBytes;
        secretGrace = secretGrace == null ? Duration.ofHours(24) : secretGrace;
    }

    /** Default settings (secure targets only). */
    public static WebhookSettings defaults() {
        return new WebhookSettings(false, null, null, null, 0, null, null, null, null, null, null, 0, null);
    }

    /** An unset lease is a minute; a set one too short for the timeouts is raised to twice their sum. */
    private static Duration max(Duration atLeast, Duration unset, Duration given) {
        Duration wanted = given == null ? unset : given;
        return wanted.compareTo(atLeast) < 0 ? atLeast : wanted;
    }
}
