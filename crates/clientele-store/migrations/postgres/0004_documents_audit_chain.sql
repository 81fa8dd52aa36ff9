-- Customer documents, the tenant's required documents, and the audit log's hash chain.

ALTER TABLE tenants ADD COLUMN required_documents text NOT NULL
    DEFAULT '["passport|id_card","driver_license"]';

-- Metadata and the wrapped file key of each document; the encrypted bytes are in the object store.
CREATE TABLE documents (
    tenant_id       uuid NOT NULL REFERENCES tenants (id),
    id              uuid NOT NULL,
    customer_id     uuid NOT NULL,
    kind            text NOT NULL CHECK (kind IN ('passport', 'driver_license', 'id_card', 'insurance', 'other')),
    number          text,
    issuing_country text,
    issuing_place   text,
    issued_on       date,
    expires_on      date,
    file_name       text,
    content_type    text NOT NULL,
    size            bigint NOT NULL,
    sha256          text NOT NULL,
    object_key      text NOT NULL,
    key_id          text NOT NULL,
    wrapped_key     bytea NOT NULL,
    created_at      timestamptz NOT NULL,
    created_by      uuid,
    updated_at      timestamptz NOT NULL,
    version         bigint NOT NULL,
    deleted_at      timestamptz,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX documents_customer ON documents (tenant_id, customer_id, kind) WHERE deleted_at IS NULL;
CREATE INDEX documents_key ON documents (key_id);

-- Each tenant's log is a hash chain: seq 1, 2, 3, ... and hash = SHA-256(previous hash, entry).
-- Entries written before this migration are chained by the store when it opens the database.
ALTER TABLE audit_log ADD COLUMN seq bigint;
ALTER TABLE audit_log ADD COLUMN hash text;
CREATE UNIQUE INDEX audit_log_seq ON audit_log (tenant_id, seq);
CREATE INDEX audit_log_actor ON audit_log (tenant_id, actor_id, id);

-- The chain's head per tenant: its length and last hash. Appending locks the row, so entries of
-- one tenant are numbered one writer at a time.
CREATE TABLE audit_chain (
    tenant_id uuid PRIMARY KEY REFERENCES tenants (id),
    seq       bigint NOT NULL,
    hash      text NOT NULL
);

-- Append-only, enforced by the database as well: an entry, once in the chain, never changes or
-- goes. (Only entries from before the chain may be given their place in it, once.)
CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND OLD.seq IS NULL THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'the audit log is append-only';
END
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();
CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
