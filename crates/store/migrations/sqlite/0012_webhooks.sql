-- Webhook endpoints: where an organization wants its events sent. Secrets are kept sealed with
-- the instance's secret key; during a rotation the previous one keeps signing until it expires.
CREATE TABLE webhook_endpoints (
    id                       BLOB PRIMARY KEY NOT NULL,
    organization_id          BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                      TEXT NOT NULL,
    description              TEXT NOT NULL DEFAULT '',
    event_types              TEXT NOT NULL DEFAULT '[]',
    secret_sealed            TEXT NOT NULL,
    previous_secret_sealed   TEXT,
    previous_secret_until    TEXT,
    active                   INTEGER NOT NULL,
    disabled_reason          TEXT,
    failing_since            TEXT,
    created_by               BLOB,
    created_at               TEXT NOT NULL,
    updated_at               TEXT NOT NULL
);
CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id, created_at);

-- One message to one endpoint: the exact body sent, and how its delivery is going. An event is
-- delivered to an endpoint at most once (resending a delivery is another attempt of the same one).
CREATE TABLE webhook_deliveries (
    id                BLOB PRIMARY KEY NOT NULL,
    organization_id   BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    endpoint_id       BLOB NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          BLOB NOT NULL,
    event_type        TEXT NOT NULL,
    body              TEXT NOT NULL,
    status            TEXT NOT NULL,
    attempts          INTEGER NOT NULL DEFAULT 0,
    last_status_code  INTEGER,
    last_latency_ms   INTEGER,
    last_error        TEXT,
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    delivered_at      TEXT,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every attempt of a delivery: when, what came back, how long it took.
CREATE TABLE webhook_attempts (
    id               BLOB PRIMARY KEY NOT NULL,
    organization_id  BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    delivery_id      BLOB NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at     TEXT NOT NULL,
    status_code      INTEGER,
    latency_ms       INTEGER NOT NULL,
    error            TEXT,
    response_excerpt TEXT
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);
