-- Customer documents, the tenant's required documents, and the audit log's hash chain.
-- (SQLite dialect of postgres/0004.)

ALTER TABLE tenants ADD COLUMN required_documents TEXT NOT NULL
    DEFAULT '["passport|id_card","driver_license"]';

-- Metadata and the wrapped file key of each document; the encrypted bytes are in the object store.
CREATE TABLE documents (
    tenant_id       BLOB NOT NULL REFERENCES tenants (id),
    id              BLOB NOT NULL,
    customer_id     BLOB NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('passport', 'driver_license', 'id_card', 'insurance', 'other')),
    number          TEXT,
    issuing_country TEXT,
    issuing_place   TEXT,
    issued_on       TEXT,
    expires_on      TEXT,
    file_name       TEXT,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    sha256          TEXT NOT NULL,
    object_key      TEXT NOT NULL,
    key_id          TEXT NOT NULL,
    wrapped_key     BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    created_by      BLOB,
    updated_at      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    deleted_at      TEXT,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) STRICT;
CREATE INDEX documents_customer ON documents (tenant_id, customer_id, kind) WHERE deleted_at IS NULL;
CREATE INDEX documents_key ON documents (key_id);

-- Each tenant's log is a hash chain: seq 1, 2, 3, ... and hash = SHA-256(previous hash, entry).
-- Entries written before this migration are chained by the store when it opens the database.
ALTER TABLE audit_log ADD COLUMN seq INTEGER;
ALTER TABLE audit_log ADD COLUMN hash TEXT;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, id);

-- The chain's head per tenant: its length and last hash.
CREATE TABLE audit_chain (
    tenant_id BLOB PRIMARY KEY REFERENCES tenants (id),
    seq       INTEGER NOT NULL,
    hash      TEXT NOT NULL
) STRICT;

-- Append-only, enforced by the database as well: an entry, once in the chain, never changes or
-- goes. (Only entries from before the chain may be given their place in it, once.)
CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log WHEN OLD.seq IS NOT NULL
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'the audit log is append-only');
END;
