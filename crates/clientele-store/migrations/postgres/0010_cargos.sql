-- Ca.R.G.O.S. police reports (issue 15): the customer's and the order's place codes, the tenant's
-- agencies, settings (sealed credentials, automation) and submissions, and refreshed tables.

-- Customers: Ca.R.G.O.S. place codes beside the free text kept for display (birth_place_code
-- exists since 0001).
ALTER TABLE customers ADD COLUMN citizenship_code text;
ALTER TABLE customers ADD COLUMN address_place_code text;
ALTER TABLE customers ADD COLUMN id_doc_place_code text;
ALTER TABLE customers ADD COLUMN license_place_code text;

-- A tenant's rental agencies (offices) as registered on the police portal. Soft-deleted, so
-- that the orders made at one keep their record.
CREATE TABLE cargos_agencies (
    tenant_id  uuid NOT NULL REFERENCES tenants (id),
    id         uuid NOT NULL,
    code       text NOT NULL,
    name       text NOT NULL,
    place_code text NOT NULL,
    address    text NOT NULL,
    phone      text NOT NULL,
    created_at timestamptz NOT NULL,
    updated_at timestamptz NOT NULL,
    deleted_at timestamptz,
    version    bigint NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE UNIQUE INDEX cargos_agencies_code ON cargos_agencies (tenant_id, code) WHERE deleted_at IS NULL;

-- Orders: the agency making the contract, the operator, and where the car is picked up and
-- returned (an agency, or a place code and an address).
ALTER TABLE orders ADD COLUMN agency_id uuid;
ALTER TABLE orders ADD COLUMN operator_id text;
ALTER TABLE orders ADD COLUMN pickup_agency_id uuid;
ALTER TABLE orders ADD COLUMN pickup_place_code text;
ALTER TABLE orders ADD COLUMN pickup_address text;
ALTER TABLE orders ADD COLUMN return_agency_id uuid;
ALTER TABLE orders ADD COLUMN return_place_code text;
ALTER TABLE orders ADD COLUMN return_address text;
ALTER TABLE orders ADD FOREIGN KEY (tenant_id, agency_id) REFERENCES cargos_agencies (tenant_id, id);
ALTER TABLE orders ADD FOREIGN KEY (tenant_id, pickup_agency_id) REFERENCES cargos_agencies (tenant_id, id);
ALTER TABLE orders ADD FOREIGN KEY (tenant_id, return_agency_id) REFERENCES cargos_agencies (tenant_id, id);

-- A tenant's settings: the credentials sealed under the documents master key (never readable
-- from the database alone), and what happens when an order becomes active.
CREATE TABLE cargos_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id),
    credentials        bytea,
    credentials_key_id text,
    credentials_set_at timestamptz,
    on_activation      text NOT NULL CHECK (on_activation IN ('off', 'check', 'check_and_send')),
    updated_at         timestamptz NOT NULL
);

-- Every check and send of an order's record: the exact record, the police's answer per record,
-- the receipt (transaction_id) of an accepted send. Pending ones (queued when an order became
-- active) are leased to one worker at a time.
CREATE TABLE cargos_submissions (
    tenant_id      uuid NOT NULL,
    id             uuid NOT NULL,
    order_id       uuid NOT NULL,
    action         text NOT NULL CHECK (action IN ('check', 'send')),
    status         text NOT NULL CHECK (status IN ('pending', 'running', 'checked', 'accepted', 'failed')),
    origin         text NOT NULL CHECK (origin IN ('manual', 'activation')),
    then_send      boolean NOT NULL,
    record         text,
    record_sha256  text,
    transaction_id text,
    errors         text NOT NULL,
    failure_code   text,
    failure        text,
    created_by     uuid,
    created_at     timestamptz NOT NULL,
    finished_at    timestamptz,
    worker         uuid,
    lease_until    timestamptz,
    attempts       bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, order_id) REFERENCES orders (tenant_id, id)
);
CREATE INDEX cargos_submissions_order ON cargos_submissions (tenant_id, order_id, id);
CREATE INDEX cargos_submissions_status ON cargos_submissions (tenant_id, status, id);
CREATE INDEX cargos_submissions_queue ON cargos_submissions (created_at) WHERE status IN ('pending', 'running');
-- A contract is never sent twice: at most one send per order under way or accepted.
CREATE UNIQUE INDEX cargos_submissions_one_send ON cargos_submissions (tenant_id, order_id)
    WHERE action = 'send' AND status IN ('running', 'accepted');

-- Tables refreshed from the police's Tabella endpoint (a reference table, for every tenant);
-- without rows here the snapshot shipped with the binary is used.
CREATE TABLE cargos_tables (
    name       text PRIMARY KEY CHECK (name IN ('payment_types', 'places', 'vehicle_types', 'document_types')),
    content    text NOT NULL,
    fetched_at timestamptz NOT NULL
);
