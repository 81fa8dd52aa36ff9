-- Foundation: tenants, users, customers, notes, audit log. (SQLite dialect of postgres/0001.)
-- Types: uuid as 16-byte BLOB, instants as fixed-width RFC 3339 TEXT (text order is time order),
-- dates as TEXT (YYYY-MM-DD), booleans as INTEGER 0/1, JSON as TEXT. Tables are STRICT.
-- Every tenant table leads its primary key and foreign keys with tenant_id, so the schema can be
-- distributed by tenant_id (Citus) without change. tenants, platform_admins and platform_settings
-- are small cross-tenant reference tables.

CREATE TABLE platform_settings (
    key   TEXT PRIMARY KEY,
    value BLOB NOT NULL
) STRICT;

CREATE TABLE tenants (
    id           BLOB PRIMARY KEY,
    name         TEXT NOT NULL,
    country      TEXT NOT NULL,
    phone_region TEXT NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
CREATE INDEX tenants_name ON tenants (name);

CREATE TABLE platform_admins (
    id            BLOB PRIMARY KEY,
    email         TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL
) STRICT;

CREATE TABLE customers (
    tenant_id             BLOB NOT NULL REFERENCES tenants (id),
    id                    BLOB NOT NULL,
    kind                  TEXT NOT NULL CHECK (kind IN ('client', 'partner', 'staff')),
    first_name            TEXT,
    last_name             TEXT,
    company_name          TEXT,
    vat_number            TEXT,
    email                 TEXT,
    phone                 TEXT,
    phone_status          TEXT CHECK (phone_status IN ('valid', 'verified', 'unverified')),
    birth_date            TEXT,
    birth_city            TEXT,
    birth_country         TEXT,
    birth_place_code      TEXT,
    citizenship           TEXT,
    tax_code              TEXT,
    address_line1         TEXT,
    address_line2         TEXT,
    address_city          TEXT,
    address_postal_code   TEXT,
    address_region        TEXT,
    address_country       TEXT,
    language              TEXT,
    license_number        TEXT,
    license_country       TEXT,
    license_issuing_place TEXT,
    license_issued_on     TEXT,
    license_expires_on    TEXT,
    id_doc_type           TEXT,
    id_doc_number         TEXT,
    id_doc_country        TEXT,
    id_doc_issuing_place  TEXT,
    id_doc_expires_on     TEXT,
    vip                   INTEGER NOT NULL DEFAULT 0 CHECK (vip IN (0, 1)),
    partner_id            BLOB,
    external_ref          TEXT,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    created_by            BLOB,
    deleted_at            TEXT,
    version               INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, partner_id) REFERENCES customers (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX customers_external_ref ON customers (tenant_id, external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX customers_email ON customers (tenant_id, email) WHERE email IS NOT NULL;
CREATE INDEX customers_partner ON customers (tenant_id, partner_id, id) WHERE partner_id IS NOT NULL;
CREATE INDEX customers_kind ON customers (tenant_id, kind, id);
CREATE INDEX customers_vip ON customers (tenant_id, id) WHERE vip;
CREATE INDEX customers_created_at ON customers (tenant_id, created_at);

CREATE TABLE users (
    tenant_id     BLOB NOT NULL REFERENCES tenants (id),
    id            BLOB NOT NULL,
    email         TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    role          TEXT NOT NULL CHECK (role IN ('admin', 'operator', 'driver', 'partner')),
    partner_id    BLOB,
    disabled      INTEGER NOT NULL DEFAULT 0 CHECK (disabled IN (0, 1)),
    created_at    TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    FOREIGN KEY (tenant_id, partner_id) REFERENCES customers (tenant_id, id)
) STRICT;

CREATE TABLE customer_notes (
    tenant_id   BLOB NOT NULL,
    id          BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    author_id   BLOB,
    body        TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) STRICT;
CREATE INDEX customer_notes_customer ON customer_notes (tenant_id, customer_id, id);

-- Append-only: the application inserts and reads, never updates or deletes.
CREATE TABLE audit_log (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    id          BLOB NOT NULL,
    at          TEXT NOT NULL,
    actor_id    BLOB,
    actor_role  TEXT NOT NULL,
    action      TEXT NOT NULL,
    object_type TEXT NOT NULL,
    object_id   BLOB NOT NULL,
    customer_id BLOB,
    outcome     TEXT NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    reason      TEXT,
    changes     TEXT,
    ip          TEXT,
    user_agent  TEXT,
    request_id  TEXT,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE INDEX audit_log_customer ON audit_log (tenant_id, customer_id, id) WHERE customer_id IS NOT NULL;
