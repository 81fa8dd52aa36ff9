-- Import jobs: the job and its progress, its file (until done), and its refused rows.
-- (SQLite dialect of postgres/0005.)

CREATE TABLE import_jobs (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    status      TEXT NOT NULL CHECK (status IN ('receiving', 'queued', 'running', 'succeeded', 'failed')),
    mode        TEXT NOT NULL CHECK (mode IN ('create', 'upsert')),
    dry_run     INTEGER NOT NULL CHECK (dry_run IN (0, 1)),
    mapping     TEXT NOT NULL,
    file_name   TEXT,
    file_size   INTEGER NOT NULL,
    encoding    TEXT,
    delimiter   TEXT,
    headers     TEXT,
    unmapped    TEXT NOT NULL,
    rows_read   INTEGER NOT NULL,
    created     INTEGER NOT NULL,
    updated     INTEGER NOT NULL,
    unchanged   INTEGER NOT NULL,
    failed      INTEGER NOT NULL,
    next_row    INTEGER NOT NULL,
    attempts    INTEGER NOT NULL DEFAULT 0,
    failure     TEXT,
    created_at  TEXT NOT NULL,
    created_by  BLOB,
    actor_role  TEXT NOT NULL,
    started_at  TEXT,
    finished_at TEXT,
    undo        TEXT,
    worker      BLOB,
    lease_until TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
-- Workers look for queued jobs and for running ones whose lease ran out.
CREATE INDEX import_jobs_pending ON import_jobs (created_at) WHERE status IN ('queued', 'running');

CREATE TABLE import_files (
    tenant_id BLOB NOT NULL,
    job_id    BLOB NOT NULL,
    chunk     INTEGER NOT NULL,
    bytes     BLOB NOT NULL,
    PRIMARY KEY (tenant_id, job_id, chunk),
    FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id)
) STRICT;

CREATE TABLE import_errors (
    tenant_id BLOB NOT NULL,
    job_id    BLOB NOT NULL,
    row_no    INTEGER NOT NULL,
    cells     TEXT NOT NULL,
    errors    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, job_id, row_no),
    FOREIGN KEY (tenant_id, job_id) REFERENCES import_jobs (tenant_id, id)
) STRICT;
