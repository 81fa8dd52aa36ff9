-- The outbox: every committed change that the systems around Clientele hear of, written in the
-- change's own transaction; webhook endpoints, their subscriptions, one delivery per endpoint
-- and event (fanned out in the same transaction), and every attempt of each delivery.
-- (SQLite dialect of postgres/0009: `seq` is the rowid, which SQLite's one writer hands out in
-- commit order.)

CREATE TABLE outbox_events (
    seq            INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id      BLOB NOT NULL REFERENCES tenants (id),
    id             BLOB NOT NULL,
    event_type     TEXT NOT NULL,
    schema_version INTEGER NOT NULL,
    resource_type  TEXT NOT NULL,
    resource_id    BLOB NOT NULL,
    ordering_key   BLOB NOT NULL,
    occurred_at    TEXT NOT NULL,
    actor_id       BLOB,
    actor_role     TEXT NOT NULL,
    data           TEXT NOT NULL,
    UNIQUE (tenant_id, id)
) STRICT;
CREATE INDEX outbox_events_occurred ON outbox_events (occurred_at);

CREATE TABLE webhook_endpoints (
    tenant_id        BLOB NOT NULL REFERENCES tenants (id),
    id               BLOB NOT NULL,
    url              TEXT NOT NULL,
    events           TEXT NOT NULL,
    description      TEXT,
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason  TEXT,
    secret           TEXT NOT NULL,
    previous_secret  TEXT,
    previous_until   TEXT,
    failing_since    TEXT,
    created_at       TEXT NOT NULL,
    created_by       BLOB,
    updated_at       TEXT NOT NULL,
    version          INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, id)
) STRICT;

CREATE TABLE webhook_subscriptions (
    tenant_id   BLOB NOT NULL,
    endpoint_id BLOB NOT NULL,
    event_type  TEXT NOT NULL,
    PRIMARY KEY (tenant_id, event_type, endpoint_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
) STRICT;

CREATE TABLE webhook_deliveries (
    tenant_id       BLOB NOT NULL,
    endpoint_id     BLOB NOT NULL,
    event_id        BLOB NOT NULL,
    event_seq       INTEGER NOT NULL,
    ordering_key    BLOB NOT NULL,
    status          TEXT NOT NULL CHECK (status IN ('pending', 'succeeded', 'failed')),
    attempts        INTEGER NOT NULL,
    next_attempt_at TEXT NOT NULL,
    worker          BLOB,
    lease_until     TEXT,
    created_at      TEXT NOT NULL,
    finished_at     TEXT,
    PRIMARY KEY (tenant_id, endpoint_id, event_id),
    FOREIGN KEY (tenant_id, endpoint_id) REFERENCES webhook_endpoints (tenant_id, id) ON DELETE CASCADE
) STRICT;
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at) WHERE status = 'pending';
CREATE INDEX webhook_deliveries_queue ON webhook_deliveries (tenant_id, endpoint_id, ordering_key, event_seq)
    WHERE status = 'pending';

CREATE TABLE webhook_attempts (
    tenant_id     BLOB NOT NULL,
    endpoint_id   BLOB NOT NULL,
    event_id      BLOB NOT NULL,
    attempt       INTEGER NOT NULL,
    at            TEXT NOT NULL,
    status_code   INTEGER,
    latency_ms    INTEGER NOT NULL,
    error         TEXT,
    response_body TEXT,
    PRIMARY KEY (tenant_id, endpoint_id, event_id, attempt),
    FOREIGN KEY (tenant_id, endpoint_id, event_id)
        REFERENCES webhook_deliveries (tenant_id, endpoint_id, event_id) ON DELETE CASCADE
) STRICT;
