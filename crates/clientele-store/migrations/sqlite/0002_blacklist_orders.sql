-- Blacklists (tenant and global), VIP tracking and orders. (SQLite dialect of postgres/0002.)

ALTER TABLE customers ADD COLUMN vip_changed_at TEXT;
ALTER TABLE customers ADD COLUMN vip_changed_by BLOB;
-- Scope of the tenant's own active blacklist entry on the customer.
ALTER TABLE customers ADD COLUMN blacklist_scope TEXT CHECK (blacklist_scope IN ('tenant', 'global'));
-- When the last global-blacklist check matched (cleared by a check that does not).
ALTER TABLE customers ADD COLUMN global_match_at TEXT;
CREATE INDEX customers_blacklisted ON customers (tenant_id, id)
    WHERE blacklist_scope IS NOT NULL OR global_match_at IS NOT NULL;

-- A tenant's blacklist history: one row per entry, lifted or not; at most one active per customer.
CREATE TABLE blacklist_entries (
    tenant_id       BLOB NOT NULL,
    id              BLOB NOT NULL,
    customer_id     BLOB NOT NULL,
    scope           TEXT NOT NULL CHECK (scope IN ('tenant', 'global')),
    reason_code     TEXT NOT NULL CHECK (reason_code IN ('unpaid_balance', 'vehicle_not_returned', 'unpaid_damage',
                                                         'chargeback', 'misconduct', 'other')),
    note            TEXT,
    created_at      TEXT NOT NULL,
    created_by      BLOB,
    lifted_at       TEXT,
    lifted_by       BLOB,
    lift_note       TEXT,
    global_entry_id BLOB,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CHECK (scope = 'tenant' OR reason_code IN ('unpaid_balance', 'vehicle_not_returned', 'unpaid_damage',
                                                'chargeback'))
) STRICT;
CREATE INDEX blacklist_entries_customer ON blacklist_entries (tenant_id, customer_id, id);
CREATE UNIQUE INDEX blacklist_entries_one_active ON blacklist_entries (tenant_id, customer_id) WHERE lifted_at IS NULL;

-- The platform-wide list (small reference tables). No readable identity and no free TEXT: only
-- keyed pseudonyms, a contractual reason code, the flagging tenant and customer, and dates.
CREATE TABLE global_blacklist (
    id                   BLOB PRIMARY KEY,
    reason_code          TEXT NOT NULL CHECK (reason_code IN ('unpaid_balance', 'vehicle_not_returned',
                                                              'unpaid_damage', 'chargeback')),
    flagging_tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    flagging_customer_id BLOB NOT NULL,
    key_id               TEXT NOT NULL,
    created_at           TEXT NOT NULL,
    expires_at           TEXT NOT NULL,
    lifted_at            TEXT
) STRICT;
CREATE INDEX global_blacklist_flagging ON global_blacklist (flagging_tenant_id, flagging_customer_id);

CREATE TABLE global_blacklist_pseudonyms (
    hash     BLOB NOT NULL,
    entry_id BLOB NOT NULL REFERENCES global_blacklist (id),
    kind     TEXT NOT NULL CHECK (kind IN ('identity', 'document', 'license')),
    PRIMARY KEY (hash, entry_id)
) STRICT;
CREATE INDEX global_blacklist_pseudonyms_entry ON global_blacklist_pseudonyms (entry_id);

-- Every check that matched, for platform admins (tenants' logs do not name the entry).
CREATE TABLE global_blacklist_matches (
    entry_id    BLOB NOT NULL REFERENCES global_blacklist (id),
    tenant_id   BLOB NOT NULL,
    customer_id BLOB NOT NULL,
    context     TEXT NOT NULL,
    matched_at  TEXT NOT NULL
) STRICT;
CREATE INDEX global_blacklist_matches_entry ON global_blacklist_matches (entry_id);
CREATE INDEX global_blacklist_matches_customer ON global_blacklist_matches (tenant_id, customer_id);

CREATE TABLE orders (
    tenant_id             BLOB NOT NULL REFERENCES tenants (id),
    id                    BLOB NOT NULL,
    customer_id           BLOB NOT NULL,
    second_driver_id      BLOB,
    driver_id             BLOB,
    pickup_at             TEXT NOT NULL,
    pickup_place          TEXT NOT NULL,
    return_at             TEXT NOT NULL,
    return_place          TEXT NOT NULL,
    vehicle_plate         TEXT NOT NULL,
    vehicle_make          TEXT,
    vehicle_model         TEXT,
    vehicle_type          TEXT NOT NULL,
    vehicle_colour        TEXT,
    payment_type          TEXT NOT NULL,
    status                TEXT NOT NULL CHECK (status IN ('awaiting_override', 'confirmed', 'active', 'completed',
                                                          'cancelled')),
    blacklist_at_creation TEXT NOT NULL CHECK (blacklist_at_creation IN ('none', 'tenant', 'global')),
    override_reason       TEXT,
    override_by           BLOB,
    override_at           TEXT,
    override_requested_by BLOB,
    override_requested_at TEXT,
    created_by            BLOB,
    created_at            TEXT NOT NULL,
    updated_at            TEXT NOT NULL,
    version               INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, second_driver_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, driver_id) REFERENCES users (tenant_id, id),
    CHECK (return_at > pickup_at),
    -- The database holds the invariant too: an order that found its customer blacklisted goes
    -- ahead only with a recorded override.
    CHECK (blacklist_at_creation = 'none' OR status IN ('awaiting_override', 'cancelled')
           OR override_reason IS NOT NULL)
) STRICT;
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, id);
CREATE INDEX orders_second_driver ON orders (tenant_id, second_driver_id, id) WHERE second_driver_id IS NOT NULL;
CREATE INDEX orders_driver ON orders (tenant_id, driver_id, status) WHERE driver_id IS NOT NULL;
