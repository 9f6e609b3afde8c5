-- What the request that first used a job's Idempotency-Key asked for (SHA-256 of the parsed spec and of the
-- uploaded images), so that the key reused for a different request is refused instead of replaying the first job.
-- Null for jobs created before this column existed: their retries still replay.
alter table jobs add column idempotency_fingerprint text;
