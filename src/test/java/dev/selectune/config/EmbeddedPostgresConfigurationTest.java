package dev.selectune.config;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import javax.sql.DataSource;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import static org.assertj.core.api.Assertions.assertThat;

/** The embedded database is configured for durability, not as zonky's throw-away test database. */
class EmbeddedPostgresConfigurationTest {
    @TempDir
    Path data;

    @Test
    void commitsAreFsyncedBeforeTheyAreAcknowledged() throws Exception {
        EmbeddedPostgresConfiguration config = new EmbeddedPostgresConfiguration();
        SelectuneProperties props = new SelectuneProperties(null, data, null, null, null, null, null, null, null, null);
        try (EmbeddedPostgresConfiguration.EmbeddedDatabase db = config.embeddedPostgres(props)) {
            DataSource ds = db.postgres().getPostgresDatabase();
            try (Connection c = ds.getConnection(); Statement s = c.createStatement()) {
                assertThat(show(s, "fsync")).isEqualTo("on");
                assertThat(show(s, "synchronous_commit")).isEqualTo("on");
                assertThat(show(s, "full_page_writes")).isEqualTo("on");
            }
        }
    }

    private static String show(Statement s, String setting) throws Exception {
        try (ResultSet rs = s.executeQuery("show " + setting)) {
            rs.next();
            return rs.getString(1);
        }
    }
}
