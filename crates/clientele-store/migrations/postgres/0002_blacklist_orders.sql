-- Blacklists (tenant and global), VIP tracking and orders.

ALTER TABLE customers
    ADD COLUMN vip_changed_at timestamptz,
    ADD COLUMN vip_changed_by uuid,
    -- Scope of the tenant's own active blacklist entry on the customer.
    ADD COLUMN blacklist_scope text CHECK (blacklist_scope IN ('tenant', 'global')),
    -- When the last global-blacklist check matched (cleared by a check that does not).
    ADD COLUMN global_match_at timestamptz;
CREATE INDEX customers_blacklisted ON customers (tenant_id, id)
    WHERE blacklist_scope IS NOT NULL OR global_match_at IS NOT NULL;

-- A tenant's blacklist history: one row per entry, lifted or not; at most one active per customer.
CREATE TABLE blacklist_entries (
    tenant_id       uuid NOT NULL,
    id              uuid NOT NULL,
    customer_id     uuid NOT NULL,
    scope           text NOT NULL CHECK (scope IN ('tenant', 'global')),
    reason_code     text NOT NULL CHECK (reason_code IN ('unpaid_balance', 'vehicle_not_returned', 'unpaid_damage',
                                                         'chargeback', 'misconduct', 'other')),
    note            text,
    created_at      timestamptz NOT NULL,
    created_by      uuid,
    lifted_at       timestamptz,
    lifted_by       uuid,
    lift_note       text,
    global_entry_id uuid,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    CHECK (scope = 'tenant' OR reason_code IN ('unpaid_balance', 'vehicle_not_returned', 'unpaid_damage',
                                                'chargeback'))
);
CREATE INDEX blacklist_entries_customer ON blacklist_entries (tenant_id, customer_id, id);
CREATE UNIQUE INDEX blacklist_entries_one_active ON blacklist_entries (tenant_id, customer_id) WHERE lifted_at IS NULL;

-- The platform-wide list (small reference tables). No readable identity and no free text: only
-- keyed pseudonyms, a contractual reason code, the flagging tenant and customer, and dates.
CREATE TABLE global_blacklist (
    id                   uuid PRIMARY KEY,
    reason_code          text NOT NULL CHECK (reason_code IN ('unpaid_balance', 'vehicle_not_returned',
                                                              'unpaid_damage', 'chargeback')),
    flagging_tenant_id   uuid NOT NULL REFERENCES tenants (id),
    flagging_customer_id uuid NOT NULL,
    key_id               text NOT NULL,
    created_at           timestamptz NOT NULL,
    expires_at           timestamptz NOT NULL,
    lifted_at            timestamptz
);
CREATE INDEX global_blacklist_flagging ON global_blacklist (flagging_tenant_id, flagging_customer_id);

CREATE TABLE global_blacklist_pseudonyms (
    hash     bytea NOT NULL,
    entry_id uuid NOT NULL REFERENCES global_blacklist (id),
    kind     text NOT NULL CHECK (kind IN ('identity', 'document', 'license')),
    PRIMARY KEY (hash, entry_id)
);
CREATE INDEX global_blacklist_pseudonyms_entry ON global_blacklist_pseudonyms (entry_id);

-- Every check that matched, for platform admins (tenants' logs do not name the entry).
CREATE TABLE global_blacklist_matches (
    entry_id    uuid NOT NULL REFERENCES global_blacklist (id),
    tenant_id   uuid NOT NULL,
    customer_id uuid NOT NULL,
    context     text NOT NULL,
    matched_at  timestamptz NOT NULL
);
CREATE INDEX global_blacklist_matches_entry ON global_blacklist_matches (entry_id);
CREATE INDEX global_blacklist_matches_customer ON global_blacklist_matches (tenant_id, customer_id);

CREATE TABLE orders (
    tenant_id             uuid NOT NULL REFERENCES tenants (id),
    id                    uuid NOT NULL,
    customer_id           uuid NOT NULL,
    second_driver_id      uuid,
    driver_id             uuid,
    pickup_at             timestamptz NOT NULL,
    pickup_place          text NOT NULL,
    return_at             timestamptz NOT NULL,
    return_place          text NOT NULL,
    vehicle_plate         text NOT NULL,
    vehicle_make          text,
    vehicle_model         text,
    vehicle_type          text NOT NULL,
    vehicle_colour        text,
    payment_type          text NOT NULL,
    status                text NOT NULL CHECK (status IN ('awaiting_override', 'confirmed', 'active', 'completed',
                                                          'cancelled')),
    blacklist_at_creation text NOT NULL CHECK (blacklist_at_creation IN ('none', 'tenant', 'global')),
    override_reason       text,
    override_by           uuid,
    override_at           timestamptz,
    override_requested_by uuid,
    override_requested_at timestamptz,
    created_by            uuid,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    version               bigint NOT NULL,
    PRIMARY KEY (tenant_id, id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, second_driver_id) REFERENCES customers (tenant_id, id),
    FOREIGN KEY (tenant_id, driver_id) REFERENCES users (tenant_id, id),
    CHECK (return_at > pickup_at),
    -- The database holds the invariant too: an order that found its customer blacklisted goes
    -- ahead only with a recorded override.
    CHECK (blacklist_at_creation = 'none' OR status IN ('awaiting_override', 'cancelled')
           OR override_reason IS NOT NULL)
);
CREATE INDEX orders_customer ON orders (tenant_id, customer_id, id);
CREATE INDEX orders_second_driver ON orders (tenant_id, second_driver_id, id) WHERE second_driver_id IS NOT NULL;
CREATE INDEX orders_driver ON orders (tenant_id, driver_id, status) WHERE driver_id IS NOT NULL;
