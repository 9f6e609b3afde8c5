package dev.selectune.storage;

import software.amazon.awssdk.auth.credentials.AwsBasicCredentials;
import software.amazon.awssdk.auth.credentials.DefaultCredentialsProvider;
import software.amazon.awssdk.auth.credentials.StaticCredentialsProvider;
import software.amazon.awssdk.core.checksums.RequestChecksumCalculation;
import software.amazon.awssdk.core.checksums.ResponseChecksumValidation;
import software.amazon.awssdk.core.sync.RequestBody;
import software.amazon.awssdk.regions.Region;
import software.amazon.awssdk.services.s3.S3Client;
import software.amazon.awssdk.services.s3.S3Configuration;
import software.amazon.awssdk.services.s3.model.ListObjectsV2Request;
import software.amazon.awssdk.services.s3.model.NoSuchBucketException;
import software.amazon.awssdk.services.s3.model.NoSuchKeyException;
import software.amazon.awssdk.services.s3.model.S3Object;

import java.net.URI;
import java.util.Optional;

/**
 * Blobs in an S3-compatible bucket (AWS, MinIO, Ceph, ...) for deployments whose LoRAs and images should not sit in
 * PostgreSQL. Path-style addressing, so a plain endpoint URL such as {@code http://minio:9000} works.
 */
public class S3BlobStore implements BlobStore, AutoCloseable {
    private final S3Client s3;
    private final String bucket;
    private final String prefix;

    public S3BlobStore(S3Client s3, String bucket, String prefix) {
        this.s3 = s3;
        this.bucket = bucket;
        this.prefix = prefix == null ? "" : prefix;
    }

    /** A client for {@code endpoint} (null: AWS itself) with static keys (null: the default AWS credential chain). */
    public static S3BlobStore create(String endpoint, String region, String accessKey, String secretKey, String bucket,
                                     String prefix) {
        if (bucket == null || bucket.isBlank()) {
            throw new IllegalArgumentException("selectune.blobs.s3-bucket: required when selectune.blobs.store=s3");
        }
        // Checksums only where the API requires them and no chunked uploads: S3-compatible servers (MinIO, Ceph,
        // s3proxy) do not all understand the SDK's newer streaming-trailer signatures.
        var builder = S3Client.builder().region(Region.of(region)).forcePathStyle(true)
                .requestChecksumCalculation(RequestChecksumCalculation.WHEN_REQUIRED)
                .responseChecksumValidation(ResponseChecksumValidation.WHEN_REQUIRED)
                .serviceConfiguration(S3Configuration.builder().chunkedEncodingEnabled(false).build());
        if (endpoint != null && !endpoint.isBlank()) {
            builder.endpointOverride(URI.create(endpoint));
        }
        builder.credentialsProvider(accessKey != null && !accessKey.isBlank()
                ? StaticCredentialsProvider.create(AwsBasicCredentials.create(accessKey, secretKey))
                : DefaultCredentialsProvider.builder().build());
        return new S3BlobStore(builder.build(), bucket, prefix);
    }

    /** Creates the bucket when it does not exist yet (a fresh MinIO, a test server). */
    public void createBucketIfMissing() {
        try {
            s3.headBucket(b -> b.bucket(bucket));
        } catch (NoSuchBucketException e) {
            s3.createBucket(b -> b.bucket(bucket));
        }
    }

    @Override
    public void put(String key, byte[] data) {
        s3.putObject(b -> b.bucket(bucket).key(prefix + key).contentLength((long) data.length),
                RequestBody.fromBytes(data));
    }

    @Override
    public Optional<byte[]> get(String key) {
        try {
            return Optional.of(s3.getObjectAsBytes(b -> b.bucket(bucket).key(prefix + key)).asByteArray());
        } catch (NoSuchKeyException e) {
            return Optional.empty();
        }
    }

    @Override
    public void delete(String key) {
        s3.deleteObject(b -> b.bucket(bucket).key(prefix + key));
    }

    /**
     * Lists and deletes one object at a time: multi-object delete needs a request checksum header that not every
     * S3-compatible server implements, and a job has only a handful of blobs.
     */
    @Override
    public void deletePrefix(String keyPrefix) {
        ListObjectsV2Request request = ListObjectsV2Request.builder().bucket(bucket).prefix(prefix + keyPrefix).build();
        for (var page : s3.listObjectsV2Paginator(request)) {
            for (S3Object o : page.contents()) {
                s3.deleteObject(b -> b.bucket(bucket).key(o.key()));
            }
        }
    }

    @Override
    public void close() {
        s3.close();
    }
}
