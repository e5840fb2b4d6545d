-- API keys: organization-scoped credentials with a role, for integrations.
CREATE TABLE api_keys (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    prefix          text NOT NULL,
    key_hash        bytea NOT NULL UNIQUE,
    created_by      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz,
    last_used_at    timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX api_keys_organization ON api_keys (organization_id, created_at);
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

ALTER TABLE audit_log ADD COLUMN api_key_id uuid;
