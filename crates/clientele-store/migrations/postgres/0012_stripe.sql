-- Payment methods through Stripe (issue 14). No card, nor anything read from one, is ever kept:
-- only each tenant's settings (keys sealed under the documents master key), each customer's
-- Stripe customer id, and the events received (to apply each once, in order per object).

-- A tenant's Stripe settings. Sealed secrets are `<key id>:<base64>` text (SealedSecret::to_text).
CREATE TABLE stripe_settings (
    tenant_id          uuid PRIMARY KEY REFERENCES tenants (id),
    mode               text NOT NULL CHECK (mode IN ('connect', 'own_key')),
    connect_account_id text,
    secret_key         text,
    publishable_key    text,
    webhook_secret     text,
    updated_at         timestamptz NOT NULL
);
-- A connected account is one tenant's (it routes Connect events to it).
CREATE UNIQUE INDEX stripe_settings_account ON stripe_settings (connect_account_id) WHERE connect_account_id IS NOT NULL;

-- Each customer's Stripe customer, made on its first card setup. A soft-deleted customer keeps it.
CREATE TABLE stripe_customers (
    tenant_id          uuid NOT NULL,
    customer_id        uuid NOT NULL,
    stripe_customer_id text NOT NULL,
    created_at         timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer_id),
    FOREIGN KEY (tenant_id, customer_id) REFERENCES customers (tenant_id, id)
);
CREATE UNIQUE INDEX stripe_customers_stripe_id ON stripe_customers (tenant_id, stripe_customer_id);

-- Events received from Stripe, by id: a second delivery of one is answered without acting again;
-- `created` orders the events of one object (Stripe does not deliver in order).
CREATE TABLE stripe_events (
    tenant_id   uuid NOT NULL REFERENCES tenants (id),
    event_id    text NOT NULL,
    event_type  text NOT NULL,
    object_id   text,
    created     bigint NOT NULL,
    received_at timestamptz NOT NULL,
    outcome     text NOT NULL CHECK (outcome IN ('processed', 'ignored', 'superseded')),
    PRIMARY KEY (tenant_id, event_id)
);
CREATE INDEX stripe_events_object ON stripe_events (tenant_id, object_id, created) WHERE object_id IS NOT NULL;
