-- Ca.R.G.O.S. police reports (issue 15): the customer's and the order's place codes, the tenant's
-- agencies, settings (sealed credentials, automation) and submissions, and refreshed tables.
-- (SQLite dialect of postgres/0010.)

-- Customers: Ca.R.G.O.S. place codes beside the free text kept for display (birth_place_code
-- exists since 0001).
ALTER TABLE customers ADD COLUMN citizenship_code TEXT;
ALTER TABLE customers ADD COLUMN address_place_code TEXT;
ALTER TABLE customers ADD COLUMN id_doc_place_code TEXT;
ALTER TABLE customers ADD COLUMN license_place_code TEXT;

-- A tenant's rental agencies (offices) as registered on the police portal. Soft-deleted, so
-- that the orders made at one keep their record.
CREATE TABLE cargos_agencies (
    tenant_id  BLOB NOT NULL REFERENCES tenants (id),
    id         BLOB NOT NULL,
    code       TEXT NOT NULL,
    name       TEXT NOT NULL,
    place_code TEXT NOT NULL,
    address    TEXT NOT NULL,
    phone      TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    deleted_at TEXT,
    version    INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX cargos_agencies_code ON cargos_agencies (tenant_id, code) WHERE deleted_at IS NULL;

-- Orders: the agency making the contract, the operator, and where the car is picked up and
-- returned (an agency, or a place code and an address). SQLite cannot add a composite foreign
-- key to an existing table; the services check that an agency is the tenant's (PostgreSQL
-- holds the keys too).
ALTER TABLE orders ADD COLUMN agency_id BLOB;
ALTER TABLE orders ADD COLUMN operator_id TEXT;
ALTER TABLE orders ADD COLUMN pickup_agency_id BLOB;
ALTER TABLE orders ADD COLUMN pickup_place_code TEXT;
ALTER TABLE orders ADD COLUMN pickup_address TEXT;
ALTER TABLE orders ADD COLUMN return_agency_id BLOB;
ALTER TABLE orders ADD COLUMN return_place_code TEXT;
ALTER TABLE orders ADD COLUMN return_address TEXT;

-- A tenant's settings: the credentials sealed under the documents master key (never readable
-- from the database alone), and what happens when an order becomes active.
CREATE TABLE cargos_settings (
    tenant_id          BLOB PRIMARY KEY REFERENCES tenants (id),
    credentials        BLOB,
    credentials_key_id TEXT,
    credentials_set_at TEXT,
    on_activation      TEXT NOT NULL CHECK (on_activation IN ('off', 'check', 'check_and_send')),
    updated_at         TEXT NOT NULL
) STRICT;

-- Every check and send of an order's record: the exact record, the police's answer per record,
-- the receipt (transaction_id) of an accepted send. Pending ones (queued when an order became
-- active) are leased to one worker at a time.
CREATE TABLE cargos_submissions (
    tenant_id      BLOB NOT NULL,
    id             BLOB NOT NULL,
    order_id       BLOB NOT NULL,
    action         TEXT NOT NULL CHECK (action IN ('check', 'send')),
    status         TEXT NOT NULL CHECK (status IN ('pending', 'running', 'checked', 'accepted', 'failed')),
    origin         TEXT NOT NULL CHECK (origin IN ('manual', 'activation')),
    then_send      INTEGER NOT NULL CHECK (then_send IN (0, 1)),
    record         TEXT,
    record_sha256  TEXT,
    transaction_id TEXT,
    errors         TEXT NOT NULL,
    failure_code   TEXT,
    failure        TEXT,
    created_by     BLOB,
    created_at     TEXT NOT NULL,
    finished_at    TEXT,
    worker         BLOB,
    lease_until    TEXT,
    attempts       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
) STRICT;
CREATE INDEX cargos_submissions_order ON cargos_submissions (tenant_id, order_id, id);
CREATE INDEX cargos_submissions_status ON cargos_submissions (tenant_id, status, id);
CREATE INDEX cargos_submissions_queue ON cargos_submissions (created_at) WHERE status IN ('pending', 'running');
-- A contract is never sent twice: at most one send per order under way or accepted.
CREATE UNIQUE INDEX cargos_submissions_one_send ON cargos_submissions (tenant_id, order_id)
    WHERE action = 'send' AND status IN ('running', 'accepted');

-- Tables refreshed from the police's Tabella endpoint (a reference table, for every tenant);
-- without rows here the snapshot shipped with the binary is used.
CREATE TABLE cargos_tables (
    name       TEXT PRIMARY KEY CHECK (name IN ('payment_types', 'places', 'vehicle_types', 'document_types')),
    content    TEXT NOT NULL,
    fetched_at TEXT NOT NULL
) STRICT;
