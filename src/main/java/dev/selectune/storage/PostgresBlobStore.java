package dev.selectune.storage;

import org.springframework.jdbc.core.JdbcTemplate;

import java.util.List;
import java.util.Optional;

/**
 * The default store: blobs as {@code bytea} rows in the service's own database, so one PostgreSQL holds everything
 * and a blob written inside a request's transaction disappears with it when the request is rejected.
 */
public class PostgresBlobStore implements BlobStore {
    private final JdbcTemplate jdbc;

    public PostgresBlobStore(JdbcTemplate jdbc) {
        this.jdbc = jdbc;
    }

    @Override
    public void put(String key, byte[] data) {
        jdbc.update("insert into blobs (key, data) values (?, ?) on conflict (key) do update set data = excluded.data,"
                + " created_at = now()", key, data);
    }

    @Override
    public Optional<byte[]> get(String key) {
        List<byte[]> rows = jdbc.query("select data from blobs where key = ?", (rs, i) -> rs.getBytes(1), key);
        return rows.stream().findFirst();
    }

    @Override
    public void delete(String key) {
        jdbc.update("delete from blobs where key = ?", key);
    }

    @Override
    public void deletePrefix(String prefix) {
        jdbc.update("delete from blobs where key like ? escape '\\'", likeEscape(prefix) + "%");
    }

    private static String likeEscape(String s) {
        return s.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_");
    }
}
