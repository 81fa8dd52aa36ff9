-- The outbox: every committed change that the systems around Clientele hear of, written in the
-- change's own transaction; webhook endpoints, their subscriptions, one delivery per endpoint
-- and event (fanned out in the same transaction), and every attempt of each delivery.

CREATE TABLE outbox_events (
    tenant_id      uuid NOT NULL REFERENCES tenants (id),
    id             uuid NOT NULL,
    -- Commit order within an ordering key: a later change to one customer gets a larger seq.
    seq            bigint GENERATED ALWAYS AS IDENTITY,
    event_type     text NOT NULL,
    schema_version bigint NOT NULL,
    resource_type  text NOT NULL,
    resource_id    uuid NOT NULL,
    ordering_key   uuid NOT NULL,
    occurred_at    timestamptz NOT NULL,
    actor_id       uuid,
    actor_role     text NOT NULL,
    data           text NOT NULL,
    PRIMARY KEY (tenant_id, id)
);
CREATE INDEX outbox_events_occurred ON outbox_events (occurred_at);

CREATE TABLE webhook_endpoints (
    tenant_id        uuid NOT NULL REFERENCES tenants (id),
    id               uuid NOT NULL,
    url              text NOT NULL,
    -- The subscribed event types as a JSON array, as shown; matched through webhook_subscriptions.
    events           text NOT NULL,
    description      text,
    enabled          boolean NOT NULL,
    disabled_reason  text,
    -- The signing secrets, sealed with the deployment's master key; the previous one signs too
    -- until `previous_until` (a rotation's overlap).
    secret           text NOT NULL,
    previous_secret  text,
    previous_until   timestamptz,
    -- Since when every delivery has failed (cleared by a success): three days of it disables.
    failing_since    timestamptz,
    created_at       timestamptz NOT NULL,
    created_by       uuid,
    updated_at       timestamptz NOT NULL,
    version          bigint NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE webhook_subscriptions (
    tenant_id   uuid NOT NULL,
    endpoint_id uuid NOT NULL,
    -- An event type, or '*' for every type.
    event_type  text NOT NULL,
    PRIMARY KEY (tenant_id, event_type, endpoint_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);

CREATE TABLE webhook_deliveries (
    tenant_id       uuid NOT NULL,
    endpoint_id     uuid NOT NULL,
    event_id        uuid NOT NULL,
    event_seq       bigint NOT NULL,
    ordering_key    uuid NOT NULL,
    status          text NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        bigint NOT NULL,
    next_attempt_at timestamptz NOT NULL,
    worker          uuid,
    lease_until     timestamptz,
    created_at      timestamptz NOT NULL,
    finished_at     timestamptz,
    PRIMARY KEY (tenant_id, endpoint_id, event_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
);
-- Due deliveries, and the head of each endpoint's queue per ordering key.
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (tenant_id, endpoint_id, ordering_key, event_seq)
    WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    tenant_id     uuid NOT NULL,
    endpoint_id   uuid NOT NULL,
    event_id      uuid NOT NULL,
    attempt       bigint NOT NULL,
    at            timestamptz NOT NULL,
    status_code   bigint,
    latency_ms    bigint NOT NULL,
    error         text,
    response_body text,
    PRIMARY KEY (tenant_id, endpoint_id, event_id, attempt),
    FOREIGN KEY (tenant_id, endpoint_id, event_id)
        REFERENCES webhook_deliveries (tenant_id, endpoint_id, event_id) ON DELETE CASCADE
);
