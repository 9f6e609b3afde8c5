package dev.selectune.storage;

import dev.selectune.config.SelectuneProperties;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.jdbc.core.JdbcTemplate;

/** {@code selectune.blobs.store}: {@code postgres} (default) or {@code s3}. */
@Configuration(proxyBeanMethods = false)
public class BlobStoreConfiguration {

    @Bean
    BlobStore blobStore(SelectuneProperties props, JdbcTemplate jdbc) {
        SelectuneProperties.Blobs b = props.blobs();
        return switch (b.store()) {
            case "postgres" -> new PostgresBlobStore(jdbc);
            case "s3" -> S3BlobStore.create(b.s3Endpoint(), b.s3Region(), b.s3AccessKey(), b.s3SecretKey(),
                    b.s3Bucket(), b.s3Prefix());
            default -> throw new IllegalArgumentException("selectune.blobs.store: expected postgres or s3, got '"
                    + b.store() + "'");
        };
    }
}
