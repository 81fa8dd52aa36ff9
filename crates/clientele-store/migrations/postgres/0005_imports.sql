-- Import jobs: the job and its progress, its file (until done), and its refused rows.

CREATE TABLE import_jobs (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    status      text NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'succeeded', 'failed')),
    mode        text NOT NULL CHECK (mode IN ('create', 'upsert')),
    dry_run     boolean NOT NULL,
    mapping     text NOT NULL,
    file_name   text,
    file_size   bigint NOT NULL,
    encoding    text,
    delimiter   text,
    headers     text,
    unmapped    text NOT NULL,
    rows_read   bigint NOT NULL,
    created     bigint NOT NULL,
    updated     bigint NOT NULL,
    unchanged   bigint NOT NULL,
    failed      bigint NOT NULL,
    next_row    bigint NOT NULL,
    attempts    bigint NOT NULL DEFAULT 0,
    failure     text,
    created_at  timestamptz NOT NULL,
    created_by  uuid,
    actor_role  text NOT NULL,
    started_at  timestamptz,
    finished_at timestamptz,
    undo        text,
    worker      uuid,
    lease_until timestamptz,
    PRIMARY KEY (tenant_id, id)
);
-- Workers look for queued jobs and for running ones whose lease ran out.
CREATE INDEX import_jobs_pending ON import_jobs (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE import_files (
    tenant_id uuid NOT NULL,
    job_id    uuid NOT NULL,
    chunk     bigint NOT NULL,
    bytes     bytea NOT NULL,
    PRIMARY KEY (tenant_id, job_id, chunk),
    FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id)
);

CREATE TABLE import_errors (
    tenant_id uuid NOT NULL,
    job_id    uuid NOT NULL,
    row_no    bigint NOT NULL,
    cells     text NOT NULL,
    errors    text NOT NULL,
    PRIMARY KEY (tenant_id, job_id, row_no),
    FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id)
);
