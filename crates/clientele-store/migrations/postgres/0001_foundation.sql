-- Foundation: tenants, users, customers, notes, audit log.
-- Every tenant table leads its primary key and foreign keys with tenant_id, so the schema can be
-- distributed by tenant_id (Citus) without change. tenants, platform_admins and platform_settings
-- are small cross-tenant reference tables.

CREATE TABLE platform_settings (
    key   text PRIMARY KEY,
    value bytea NOT NULL
);

CREATE TABLE tenants (
    id           uuid PRIMARY KEY,
    name         text NOT NULL,
    country      text NOT NULL,
    phone_region text NOT NULL,
    created_at   timestamptz NOT NULL
);
CREATE INDEX tenants_name ON tenants (name);

CREATE TABLE platform_admins (
    id            uuid PRIMARY KEY,
    email         text NOT NULL UNIQUE,
    password_hash text NOT NULL,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL
);

CREATE TABLE customers (
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    id                    uuid NOT NULL,
    kind                  text NOT NULL CHECK (kind IN ('client', 'partner', 'staff')),
    first_name            text,
    last_name             text,
    company_name          text,
    vat_number            text,
    email                 text,
    phone                 text,
    phone_status          text CHECK (phone_status IN ('valid', 'verified', 'unverified')),
    birth_date            date,
    birth_city            text,
    birth_country         text,
    birth_place_code      text,
    citizenship           text,
    tax_code              text,
    address_line1         text,
    address_line2         text,
    address_city          text,
    address_postal_code   text,
    address_region        text,
    address_country       text,
    language              text,
    license_number        text,
    license_country       text,
    license_issuing_place text,
    license_issued_on     date,
    license_expires_on    date,
    id_doc_type           text,
    id_doc_number         text,
    id_doc_country        text,
    id_doc_issuing_place  text,
    id_doc_expires_on     date,
    vip                   boolean NOT NULL DEFAULT false,
    partner_id            uuid,
    external_ref          text,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    created_by            uuid,
    deleted_at            timestamptz,
    version               bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, partner_id) REFERENCES customers (tenant_id, id)
);
CREATE UNIQUE INDEX customers_external_ref ON customers (tenant_id, external_ref) WHERE external_ref IS NOT NULL;
CREATE INDEX customers_email ON customers (tenant_id, email) WHERE email IS NOT NULL;
CREATE INDEX customers_partner ON customers (tenant_id, partner_id, id) WHERE partner_id IS NOT NULL;
CREATE INDEX customers_kind ON customers (tenant_id, kind, id);
CREATE INDEX customers_vip ON customers (tenant_id, id) WHERE vip;
CREATE INDEX customers_created_at ON customers (tenant_id, created_at);

CREATE TABLE users (
    tenant_id     uuid NOT NULL REFERENCES tenants (id),
    id            uuid NOT NULL,
    email         text NOT NULL,
    password_hash text NOT NULL,
    role          text NOT NULL CHECK (role IN ('admin', 'operator', 'driver', 'partner')),
    partner_id    uuid,
    disabled      boolean NOT NULL DEFAULT false,
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    UNIQUE (tenant_id, email),
    FOREIGN KEY (tenant_id, partner_id) REFERENCES customers (tenant_id, id)
);

CREATE TABLE customer_notes (
    tenant_id   uuid NOT NULL,
    id          uuid NOT NULL,
    customer_id uuid NOT NULL,
    author_id   uuid,
    body        text NOT NULL,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE INDEX customer_notes_customer ON customer_notes (tenant_id, customer_id, id);

-- Append-only: the application inserts and reads, never updates or deletes.
CREATE TABLE audit_log (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    id          uuid NOT NULL,
    at          timestamptz NOT NULL,
    actor_id    uuid,
    actor_role  text NOT NULL,
    action      text NOT NULL,
    object_type text NOT NULL,
    object_id   uuid NOT NULL,
    customer_id uuid,
    outcome     text NOT NULL CHECK (outcome IN ('allowed', 'denied')),
    reason      text,
    changes     jsonb,
    ip          text,
    user_agent  text,
    request_id  text,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX audit_log_customer ON audit_log (tenant_id, customer_id, id) WHERE customer_id IS NOT NULL;
