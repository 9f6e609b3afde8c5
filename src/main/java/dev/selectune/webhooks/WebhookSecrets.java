package dev.selectune.webhooks;

import org.springframework.jdbc.core.JdbcTemplate;
import org.springframework.stereotype.Component;

import java.util.ArrayList;
import java.util.List;

/**
 * Each tenant's signing secret, made on first use. A rotation makes a new one at once; for
 * {@code selectune.webhooks.secret-grace} after it every delivery (new ones and retries of older ones, which are
 * signed when sent) carries two signatures, the new key's and the previous key's, so a receiver still holding the
 * old secret keeps verifying until it switches.
 */
@Component
public class WebhookSecrets {
    private final JdbcTemplate jdbc;
    private final WebhookSettings settings;

    public WebhookSecrets(JdbcTemplate jdbc, WebhookSettings settings) {
        this.jdbc = jdbc;
        this.settings = settings;
    }

    /** The tenant's secret ({@code whsec_...}), made now if it has none. */
    public String current(String tenant) {
        jdbc.update("insert into webhook_secrets (tenant, key) values (?, ?) on conflict (tenant) do nothing",
                tenant, Signatures.newSecret());
        return jdbc.queryForObject("select key from webhook_secrets where tenant = ?", String.class, tenant);
    }

    /** Replaces the tenant's secret with a new one, which it returns; the old one signs too for the grace period. */
    public String rotate(String tenant) {
        return jdbc.queryForObject("""
                insert into webhook_secrets (tenant, key) values (?, ?)
                on conflict (tenant) do update set previous_key = webhook_secrets.key, key = excluded.key,
                                                   rotated_at = now()
                returning key""", String.class, tenant, Signatures.newSecret());
    }

    /** The keys a delivery is signed with now: the current one, and the previous one within the grace period. */
    List<String> signingKeys(String tenant) {
        String current = current(tenant);
        List<String> keys = new ArrayList<>(List.of(current));
        keys.addAll(jdbc.queryForList("""
                select previous_key from webhook_secrets where tenant = ? and previous_key is not null
                  and rotated_at > now() - ? * interval '1 millisecond'""", String.class, tenant,
                settings.secretGrace().toMillis()));
        return keys;
    }
}
