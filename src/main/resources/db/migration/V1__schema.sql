-- Selectune schema: tenants' API keys, image sets, jobs (which are also the queue), their events, per-step metrics,
-- artifacts, and the default blob store. Ids are prefixed random strings (job_..., imgset_...) like OpenAI's.

create table api_keys (
    id          text primary key,
    tenant      text        not null,
    -- the first characters of the key, shown by `keys list` and used to find the row before a constant-time compare
    prefix      text        not null,
    key_hash    bytea       not null unique,
    created_at  timestamptz not null default now(),
    revoked_at  timestamptz
);
create index api_keys_prefix on api_keys (prefix);

create table blobs (
    key         text primary key,
    data        bytea       not null,
    created_at  timestamptz not null default now()
);

create table image_sets (
    id          text primary key,
    tenant      text        not null,
    image_count int         not null,
    total_bytes bigint      not null,
    created_at  timestamptz not null default now()
);
create index image_sets_tenant on image_sets (tenant, created_at desc);

create table images (
    image_set_id text        not null references image_sets (id) on delete cascade,
    position     int         not null,
    blob_key     text        not null,
    filename     text,
    format       text        not null,
    width        int         not null,
    height       int         not null,
    size_bytes   bigint      not null,
    sha256       text        not null,
    primary key (image_set_id, position)
);

create table jobs (
    id               text primary key,
    -- queue order (and list order, newest first); a sequence, so it never ties like a timestamp can
    seq              bigint generated always as identity unique,
    tenant           text        not null,
    image_set_id     text        not null references image_sets (id),
    base_model       text        not null,
    spec             text        not null,
    metadata         text,
    idempotency_key  text,
    status           text        not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    cancel_requested boolean     not null default false,
    attempts         int         not null default 0,
    max_attempts     int         not null,
    worker_id        text,
    device           text,
    lease_expires_at timestamptz,
    step             int         not null default 0,
    total_steps      int         not null,
    checkpoint_step  int,
    bp_steps         int         not null default 0,
    zo_steps         int         not null default 0,
    final_loss       double precision,
    seed             bigint,
    bp_peak_bytes    bigint,
    zo_peak_bytes    bigint,
    peak_bytes       bigint,
    memory_device    text,
    memory_measured_as text,
    error            text,
    created_at       timestamptz not null default now(),
    started_at       timestamptz,
    finished_at      timestamptz,
    unique (tenant, idempotency_key)
);
create index jobs_queue on jobs (seq) where status = 'queued';
create index jobs_running_lease on jobs (lease_expires_at) where status = 'running';
create index jobs_tenant_list on jobs (tenant, seq desc);

create table job_events (
    id         bigint generated always as identity primary key,
    job_id     text        not null references jobs (id) on delete cascade,
    level      text        not null,
    type       text        not null,
    message    text        not null,
    created_at timestamptz not null default now()
);
create index job_events_job on job_events (job_id, id);

create table job_metrics (
    job_id     text             not null references jobs (id) on delete cascade,
    step       int              not null,
    strategy   text             not null,
    timestep   int              not null,
    p_zo       double precision not null,
    loss       double precision not null,
    seconds    double precision not null,
    peak_bytes bigint           not null,
    created_at timestamptz      not null default now(),
    primary key (job_id, step)
);

create table artifacts (
    job_id       text        not null references jobs (id) on delete cascade,
    name         text        not null,
    blob_key     text        not null,
    content_type text        not null,
    size_bytes   bigint      not null,
    sha256       text        not null,
    created_at   timestamptz not null default now(),
    primary key (job_id, name)
);
