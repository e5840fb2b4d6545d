-- Webhook endpoints: where an organization wants its events sent. Secrets are kept sealed with
-- the instance's secret key; during a rotation the previous one keeps signing until it expires.
CREATE TABLE webhook_endpoints (
    id                       uuid PRIMARY KEY,
    organization_id          uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    url                      text NOT NULL,
    description              text NOT NULL DEFAULT '',
    event_types              jsonb NOT NULL DEFAULT '[]',
    secret_sealed            text NOT NULL,
    previous_secret_sealed   text,
    previous_secret_until    timestamptz,
    active                   boolean NOT NULL,
    disabled_reason          text,
    failing_since            timestamptz,
    created_by               uuid,
    created_at               timestamptz NOT NULL,
    updated_at               timestamptz NOT NULL
);
CREATE INDEX webhook_endpoints_organization ON webhook_endpoints (organization_id, created_at);

-- One message to one endpoint: the exact body sent, and how its delivery is going. An event is
-- delivered to an endpoint at most once (resending a delivery is another attempt of the same one).
CREATE TABLE webhook_deliveries (
    id                uuid PRIMARY KEY,
    organization_id   uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    endpoint_id       uuid NOT NULL REFERENCES webhook_endpoints (id) ON DELETE CASCADE,
    event_id          uuid NOT NULL,
    event_type        text NOT NULL,
    body              text NOT NULL,
    status            text NOT NULL,
    attempts          bigint NOT NULL DEFAULT 0,
    last_status_code  bigint,
    last_latency_ms   bigint,
    last_error        text,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL,
    delivered_at      timestamptz,
    UNIQUE (endpoint_id, event_id)
);
CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, created_at DESC);

-- Every attempt of a delivery: when, what came back, how long it took.
CREATE TABLE webhook_attempts (
    id               uuid PRIMARY KEY,
    organization_id  uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    delivery_id      uuid NOT NULL REFERENCES webhook_deliveries (id) ON DELETE CASCADE,
    attempted_at     timestamptz NOT NULL,
    status_code      bigint,
    latency_ms       bigint NOT NULL,
    error            text,
    response_excerpt text
);
CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, attempted_at);

ALTER TABLE webhook_endpoints ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_endpoints
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE webhook_deliveries ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_deliveries
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE webhook_attempts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_attempts
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
