package dev.selectune.config;

import com.zaxxer.hikari.HikariDataSource;
import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.springframework.boot.autoconfigure.condition.ConditionalOnExpression;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;

import javax.sql.DataSource;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * The zero-configuration default: with no {@code spring.datasource.url}, a real PostgreSQL is started in-process
 * with its data in {@code ${selectune.data-dir}/postgres}, so jobs survive a restart. With a URL set, Spring Boot's
 * own DataSource is used and nothing is started here.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${spring.datasource.url:}'.isEmpty()")
public class EmbeddedPostgresConfiguration {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresConfiguration.class);

    @Bean(destroyMethod = "close")
    EmbeddedPostgres embeddedPostgres(SelectuneProperties props) {
        Path dir = props.dataDir().resolve("postgres");
        try {
            Files.createDirectories(dir);
            log.info("No spring.datasource.url: starting embedded PostgreSQL with its data in {}", dir);
            return EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false).start();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + dir + ": " + e.getMessage(), e);
        }
    }

    /** Pooled like the external case (zonky's own DataSource opens a connection per call). */
    @Bean(destroyMethod = "close")
    DataSource dataSource(EmbeddedPostgres postgres) {
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(postgres.getJdbcUrl("postgres", "postgres"));
        ds.setPoolName("selectune-embedded");
        ds.setMaximumPoolSize(16);
        return ds;
    }
}
