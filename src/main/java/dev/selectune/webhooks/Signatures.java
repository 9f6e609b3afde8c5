package dev.selectune.webhooks;

import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.List;
import java.util.stream.Collectors;

/**
 * Standard Webhooks symmetric signatures: {@code v1,} + base64 HMAC-SHA256 of {@code id.timestamp.body}, keyed with
 * the base64-decoded part of the secret after {@code whsec_}. Several signatures (during a secret rotation) are
 * separated by spaces in one {@code webhook-signature} header; a receiver accepts the message if any one verifies.
 */
public final class Signatures {
    public static final String PREFIX = "whsec_";
    private static final SecureRandom RANDOM = new SecureRandom();

    private Signatures() {
    }

    /** A new secret: {@code whsec_} + base64 of 32 random bytes (the spec asks for 24 to 64). */
    public static String newSecret() {
        byte[] key = new byte[32];
        RANDOM.nextBytes(key);
        return PREFIX + Base64.getEncoder().encodeToString(key);
    }

    public static String sign(String secret, String messageId, long timestampSeconds, String body) {
        String base64Key = secret.startsWith(PREFIX) ? secret.substring(PREFIX.length()) : secret;
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(Base64.getDecoder().decode(base64Key), "HmacSHA256"));
            byte[] digest = mac.doFinal((messageId + "." + timestampSeconds + "." + body)
                    .getBytes(StandardCharsets.UTF_8));
            return "v1," + Base64.getEncoder().encodeToString(digest);
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is part of every JDK", e);
        }
    }

    /**
     * Whether a received call is authentic: one of the header's space-separated {@code v1,} signatures is the one
     * {@code secret} makes (compared in constant time) and the timestamp is within {@code toleranceSeconds} of
     * {@code nowSeconds} (a replayed old call fails).
     */
    public static boolean verify(String secret, String messageId, String timestamp, String body, String header,
                                 long nowSeconds, long toleranceSeconds) {
        if (messageId == null || timestamp == null || header == null) {
            return false;
        }
        long at;
        try {
            at = Long.parseLong(timestamp.trim());
        } catch (NumberFormatException e) {
            return false;
        }
        if (Math.abs(nowSeconds - at) > toleranceSeconds) {
            return false;
        }
        byte[] expected = sign(secret, messageId, at, body).getBytes(StandardCharsets.UTF_8);
        for (String signature : header.trim().split(" +")) {
            if (MessageDigest.isEqual(expected, signature.getBytes(StandardCharsets.UTF_8))) {
                return true;
            }
        }
        return false;
    }

    /** The {@code webhook-signature} header value: one signature per secret, space-separated. */
    public static String header(List<String> secrets, String messageId, long timestampSeconds, String body) {
        return secrets.stream().map(s -> sign(s, messageId, timestampSeconds, body)).collect(Collectors.joining(" "));
    }
}
