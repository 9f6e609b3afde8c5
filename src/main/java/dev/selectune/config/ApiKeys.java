package dev.selectune.config;

import dev.selectune.util.Hashes;
import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.List;
import java.util.Optional;

/**
 * Tenants' API keys. A key is 32 random bytes ({@code st_} + base64url); only its SHA-256 is stored (a fast hash is
 * enough for a high-entropy secret, unlike a password), found by its first characters and compared in constant time.
 */
@Component
public class ApiKeys {
    private static final String PREFIX = "st_";
    private static final int LOOKUP_CHARS = 10;
    private static final Duration CACHE_TTL = Duration.ofSeconds(10);
    private final SecureRandom random = new SecureRandom();
    private final Map<String, Cached> cache = new ConcurrentHashMap<>();
    private final JdbcTemplate jdbc;

    public ApiKeys(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    public record Created(String id, String tenant, String key) {
    }

    public record KeyInfo(String id, String tenant, String prefix, Instant createdAt, Instant revokedAt) {
    }

    /** Makes a new key for {@code tenant}; the key itself is returned once and never stored. */
    public Created create(String tenant) {
        byte[] secret = new byte[32];
        random.nextBytes(secret);
        String key = PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(secret);
        return new Created(insert(tenant, key), tenant, key);
    }

    /** Seeds a key given in configuration ({@code selectune.api-keys}); a key already present is left alone. */
    public void seed(String tenant, String key) {
        if (key.length() < 16) {
            throw new IllegalArgumentException("selectune.api-keys: the key of tenant '" + tenant
                    + "' is shorter than 16 characters");
        }
        Integer n = jdbc.queryForObject("select count(*) from api_keys where key_hash = ?", Integer.class, hash(key));
        if (n == null || n == 0) {
            insert(tenant, key);
        }
    }

    private String insert(String tenant, String key) {
        if (tenant == null || !tenant.matches("[A-Za-z0-9_.-]{1,64}")) {
            throw new IllegalArgumentException("tenant: 1 to 64 letters, digits, '_', '.' or '-', got '" + tenant + "'");
        }
        String id = "key_" + Ids.random(12);
        jdbc.update("insert into api_keys (id, tenant, prefix, key_hash) values (?, ?, ?, ?)",
                id, tenant, lookupPrefix(key), hash(key));
        return id;
    }

    /** The tenant of a valid, unrevoked key. */
    public Optional<String> authenticate(String key) {
        if (key == null || key.isEmpty()) {
            return Optional.empty();
        }
        byte[] presented = hash(key);
        // Every API call authenticates: remember recent answers briefly (a revocation reaches other replicas within
        // CACHE_TTL). Keyed by the hash, so no key is kept in memory.
        String cacheKey = HexFormat.of().formatHex(presented);
        Cached cached = cache.get(cacheKey);
        long now = System.nanoTime();
        if (cached != null && now < cached.expiresAt) {
            return Optional.ofNullable(cached.tenant);
        }
        Optional<String> tenant = lookup(key, presented);
        if (cache.size() > 10_000) {
            cache.clear();
        }
        cache.put(cacheKey, new Cached(tenant.orElse(null), now + CACHE_TTL.toNanos()));
        return tenant;
    }

    private Optional<String> lookup(String key, byte[] presented) {
        List<Candidate> rows = jdbc.query(
                "select tenant, key_hash from api_keys where prefix = ? and revoked_at is null",
                (rs, i) -> new Candidate(rs.getString(1), rs.getBytes(2)), lookupPrefix(key));
        String tenant = null;
        for (Candidate c : rows) {
            // MessageDigest.isEqual does not stop at the first differing byte.
            if (MessageDigest.isEqual(c.hash, presented)) {
                tenant = c.tenant;
            }
        }
        return Optional.ofNullable(tenant);
    }

    public List<KeyInfo> list() {
        return jdbc.query("select id, tenant, prefix, created_at, revoked_at from api_keys order by created_at",
                (rs, i) -> new KeyInfo(rs.getString(1), rs.getString(2), rs.getString(3),
                        rs.getTimestamp(4).toInstant(),
                        rs.getTimestamp(5) == null ? null : rs.getTimestamp(5).toInstant()));
    }

    public boolean revoke(String id) {
        cache.clear();
        return jdbc.update("update api_keys set revoked_at = now() where id = ? and revoked_at is null", id) == 1;
    }

    private record Cached(String tenant, long expiresAt) {
    }

    private record Candidate(String tenant, byte[] hash) {
    }

    private static String lookupPrefix(String key) {
        return key.substring(0, Math.min(LOOKUP_CHARS, key.length()));
    }

    static byte[] hash(String key) {
        return Hashes.sha256(key);
    }
}
