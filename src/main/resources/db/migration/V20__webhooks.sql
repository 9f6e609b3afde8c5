-- Issue 12, webhooks. A subject (a job, or a generation) that asked for a webhook has a target row; each state
-- change it reports writes a delivery row (the outbox) in the transaction of the change itself, so a delivery exists
-- exactly when the change committed. Dispatchers on any replica claim due deliveries with FOR UPDATE SKIP LOCKED and
-- a lease (next_attempt_at moves past the attempt's timeouts), so no attempt is sent from two replicas.

-- One signing secret per tenant (Standard Webhooks "whsec_" + base64 of 32 random bytes), made on first use. Kept
-- in clear: HMAC needs the key itself. After a rotation the previous key also signs, for a grace period.
create table webhook_secrets (
    tenant       text primary key,
    key          text        not null,
    previous_key text,
    rotated_at   timestamptz,
    created_at   timestamptz not null default now()
);

create table webhook_targets (
    kind             text        not null check (kind in ('job', 'generation')),
    subject_id       text        not null,
    tenant           text        not null,
    url              text        not null,
    -- the webhook_events_filter, comma-separated: start, progress, completed
    events           text        not null,
    start_sent       boolean     not null default false,
    -- progress is sent at most every selectune.webhooks.progress-interval
    last_progress_at timestamptz,
    primary key (kind, subject_id)
);

create table webhook_deliveries (
    -- the webhook-id header: the same on every attempt, so receivers can drop repeats
    id               text primary key,
    seq              bigint generated always as identity unique,
    kind             text        not null check (kind in ('job', 'generation')),
    subject_id       text        not null,
    tenant           text        not null,
    event            text        not null check (event in ('start', 'progress', 'completed')),
    url              text        not null,
    -- the subject as the API returned it at the change, the same bytes on every attempt
    body             text        not null,
    status           text        not null default 'pending' check (status in ('pending', 'delivered', 'failed')),
    attempts         int         not null default 0,
    -- pending: when the next attempt is due; while an attempt runs, the end of its dispatcher's lease
    next_attempt_at  timestamptz,
    claimed_by       text,
    last_status_code int,
    last_error       text,
    created_at       timestamptz not null default now(),
    finished_at      timestamptz
);
create index webhook_deliveries_due on webhook_deliveries (next_attempt_at) where status = 'pending';
create index webhook_deliveries_subject on webhook_deliveries (kind, subject_id, seq);

create table webhook_attempts (
    delivery_id text        not null references webhook_deliveries (id) on delete cascade,
    attempt     int         not null,
    dispatcher  text        not null,
    started_at  timestamptz not null default now(),
    finished_at timestamptz,
    status_code int,
    error       text,
    primary key (delivery_id, attempt)
);
