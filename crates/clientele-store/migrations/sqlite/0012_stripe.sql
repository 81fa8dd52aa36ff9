-- Payment methods through Stripe (issue 14). No card, nor anything read from one, is ever kept:
-- only each tenant's settings (keys sealed under the documents master key), each customer's
-- Stripe customer id, and the events received (to apply each once, in order per object).
-- (SQLite dialect of postgres/0012.)

-- A tenant's Stripe settings. Sealed secrets are `<key id>:<base64>` text (SealedSecret::to_text).
CREATE TABLE stripe_settings (
    tenant_id          BLOB PRIMARY KEY REFERENCES tenants (id),
    mode               TEXT NOT NULL CHECK (mode IN ('connect', 'own_key')),
    connect_account_id TEXT,
    secret_key         TEXT,
    publishable_key    TEXT,
    webhook_secret     TEXT,
    updated_at         TEXT NOT NULL
) STRICT;
-- A connected account is one tenant's (it routes Connect events to it).
CREATE UNIQUE INDEX stripe_settings_account ON stripe_settings (connect_account_id) WHERE connect_account_id IS NOT NULL;

-- Each customer's Stripe customer, made on its first card setup. A soft-deleted customer keeps it.
CREATE TABLE stripe_customers (
    tenant_id          BLOB NOT NULL,
    customer_id        BLOB NOT NULL,
    stripe_customer_id TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
) STRICT;
CREATE UNIQUE INDEX stripe_customers_stripe_id ON stripe_customers (tenant_id, stripe_customer_id);

-- Events received from Stripe, by id: a second delivery of one is answered without acting again;
-- `created` orders the events of one object (Stripe does not deliver in order).
CREATE TABLE stripe_events (
    tenant_id   BLOB NOT NULL REFERENCES tenants (id),
    event_id    TEXT NOT NULL,
    event_type  TEXT NOT NULL,
    object_id   TEXT,
    created     INTEGER NOT NULL,
    received_at TEXT NOT NULL,
    outcome     TEXT NOT NULL CHECK (outcome IN ('processed', 'ignored', 'superseded')),
    PRIMARY KEY (tenant_id, event_id)
) STRICT;
CREATE INDEX stripe_events_object ON stripe_events (tenant_id, object_id, created) WHERE object_id IS NOT NULL;
