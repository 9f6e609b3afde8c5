-- Issue 12: text-to-image generations with a tenant's trained LoRAs. A generation is its own queue entry, like a
-- job (status 'queued' rows ordered by seq), claimed by the same workers under a fenced lease (worker_id and
-- lease_generation), between training steps or when a worker is idle (docs/service.md, "Generations").
create table generations (
    id                      text primary key,
    seq                     bigint generated always as identity unique,
    tenant                  text        not null,
    base_model              text        not null,
    -- the request with every default filled in and each LoRA resolved to its job's artifact (JSON)
    request                 text        not null,
    metadata                text,
    idempotency_key         text,
    idempotency_fingerprint text,
    status                  text        not null check (status in ('queued', 'running', 'succeeded', 'failed', 'cancelled')),
    cancel_requested        boolean     not null default false,
    attempts                int         not null default 0,
    max_attempts            int         not null,
    worker_id               text,
    device                  text,
    lease_generation        bigint      not null default 0,
    lease_expires_at        timestamptz,
    image_count             int         not null,
    -- denoising steps done over all images, of total_steps = image_count * steps
    step                    int         not null default 0,
    total_steps             int         not null,
    seed                    bigint      not null,
    peak_bytes              bigint,
    memory_device           text,
    error                   text,
    created_at              timestamptz not null default now(),
    started_at              timestamptz,
    finished_at             timestamptz,
    unique (tenant, idempotency_key)
);
create index generations_queue on generations (seq) where status = 'queued';
create index generations_running_lease on generations (lease_expires_at) where status = 'running';
create index generations_tenant_list on generations (tenant, seq desc);

create table generation_events (
    id            bigint generated always as identity primary key,
    generation_id text        not null references generations (id) on delete cascade,
    level         text        not null,
    type          text        not null,
    message       text        not null,
    created_at    timestamptz not null default now()
);
create index generation_events_generation on generation_events (generation_id, id);

-- The PNG of each image, published with the final status; seed = the generation's seed + position.
create table generation_images (
    generation_id text        not null references generations (id) on delete cascade,
    position      int         not null,
    name          text        not null,
    seed          bigint      not null,
    width         int         not null,
    height        int         not null,
    blob_key      text        not null,
    content_type  text        not null,
    size_bytes    bigint      not null,
    sha256        text        not null,
    created_at    timestamptz not null default now(),
    primary key (generation_id, position),
    unique (generation_id, name)
);
