-- Issue 12, retention: a subject's webhook target and its deliveries (with their attempts) go with the subject,
-- whoever deletes it (DELETE /v1/jobs/{id} or /v1/generations/{id}, the retention sweeper). (kind, subject_id)
-- names a row of jobs or of generations, so each webhook table gets one generated column per kind (null for the
-- other kind) that references its table with on delete cascade: the database, not each deleting path, keeps the
-- outbox free of deliveries whose subject is gone.

-- Rows of subjects deleted before this migration.
delete from webhook_deliveries d
where (d.kind = 'job' and not exists (select 1 from jobs j where j.id = d.subject_id))
   or (d.kind = 'generation' and not exists (select 1 from generations g where g.id = d.subject_id));
delete from webhook_targets t
where (t.kind = 'job' and not exists (select 1 from jobs j where j.id = t.subject_id))
   or (t.kind = 'generation' and not exists (select 1 from generations g where g.id = t.subject_id));

alter table webhook_targets
    add column job_id text generated always as (case when kind = 'job' then subject_id end) stored
        references jobs (id) on delete cascade,
    add column generation_id text generated always as (case when kind = 'generation' then subject_id end) stored
        references generations (id) on delete cascade;
alter table webhook_deliveries
    add column job_id text generated always as (case when kind = 'job' then subject_id end) stored
        references jobs (id) on delete cascade,
    add column generation_id text generated always as (case when kind = 'generation' then subject_id end) stored
        references generations (id) on delete cascade;

-- The cascades look rows up by these columns.
create index webhook_targets_job on webhook_targets (job_id) where job_id is not null;
create index webhook_targets_generation on webhook_targets (generation_id) where generation_id is not null;
create index webhook_deliveries_job on webhook_deliveries (job_id) where job_id is not null;
create index webhook_deliveries_generation on webhook_deliveries (generation_id) where generation_id is not null;
