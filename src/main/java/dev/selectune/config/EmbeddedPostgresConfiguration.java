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
import java.time.Duration;

/**
 * The zero-configuration default: with no {@code spring.datasource.url}, a real PostgreSQL is started in-process
 * with its data in {@code ${selectune.data-dir}/postgres}, so jobs survive a restart. With a URL set, Spring Boot's
 * own DataSource is used and nothing is started here.
 */
@Configuration(proxyBeanMethods = false)
@ConditionalOnExpression("'${spring.datasource.url:}'.isEmpty()")
public class EmbeddedPostgresConfiguration {
    private static final Logger log = LoggerFactory.getLogger(EmbeddedPostgresConfiguration.class);
    private static final Duration POSTGRES_STARTUP_WAIT = Duration.ofSeconds(120);
    /** How long a postgres left by a killed run gets for its fast shutdown before it is killed. */
    private static final Duration STALE_PATIENCE = Duration.ofSeconds(30);

    @Bean(destroyMethod = "close")
    EmbeddedDatabase embeddedPostgres(SelectuneProperties props) {
        Path dir = props.dataDir().resolve("postgres");
        try {
            Files.createDirectories(dir);
            StalePostmaster.stop(dir, STALE_PATIENCE);
            log.info("No spring.datasource.url: starting embedded PostgreSQL with its data in {}", dir);
            EmbeddedPostgres postgres = EmbeddedPostgres.builder().setDataDirectory(dir).setCleanDataDirectory(false)
                    // After a crash postgres replays its WAL before it accepts connections; zonky's 10 s default
                    // gave up on that recovery on a loaded 2-core host and the service failed to start.
                    .setPGStartupWait(POSTGRES_STARTUP_WAIT)
                    // zonky's defaults are for throw-away test databases: it passes -F (fsync off) and sets
                    // synchronous_commit=off, so a 201 could be lost in a crash. The -c options follow -F on the
                    // postgres command line, so these win.
                    .setServerConfig("fsync", "on")
                    .setServerConfig("synchronous_commit", "on")
                    // zonky's own shutdown hook would stop postgres at JVM exit in parallel with Spring's close,
                    // while the workers still checkpoint and release their jobs. Spring closes this bean after
                    // every bean that uses the DataSource instead (WorkerPool stops, as a SmartLifecycle, before
                    // any bean is destroyed); the watchdog covers a JVM that dies without closing it.
                    .setRegisterShutdownHook(false)
                    .start();
            return new EmbeddedDatabase(postgres, watch(dir));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot start the embedded PostgreSQL in " + dir + ": " + e.getMessage(), e);
        }
    }

    private static PostmasterWatchdog watch(Path dir) throws IOException {
        Path real = dir.toRealPath();
        long pid = StalePostmaster.postmasterPid(real).orElseThrow(() ->
                new IllegalStateException("the embedded PostgreSQL wrote no postmaster.pid in " + dir));
        return PostmasterWatchdog.start(pid, real);
    }

    /** Pooled like the external case (zonky's own DataSource opens a connection per call). */
    @Bean(destroyMethod = "close")
    DataSource dataSource(EmbeddedDatabase database) {
        HikariDataSource ds = new HikariDataSource();
        ds.setJdbcUrl(database.postgres().getJdbcUrl("postgres", "postgres"));
        ds.setPoolName("selectune-embedded");
        ds.setMaximumPoolSize(16);
        return ds;
    }

    /** The running postgres and its watchdog, stopped in that order. */
    record EmbeddedDatabase(EmbeddedPostgres postgres, PostmasterWatchdog watchdog) implements AutoCloseable {
        @Override
        public void close() throws IOException {
            try {
                postgres.close();
            } finally {
                watchdog.close();
            }
        }
    }
}
