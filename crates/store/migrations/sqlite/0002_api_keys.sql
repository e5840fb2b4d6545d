-- API keys: organization-scoped credentials with a role, for integrations.
CREATE TABLE api_keys (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    role            TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    prefix          TEXT NOT NULL,
    key_hash        BLOB NOT NULL UNIQUE,
    created_by      BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT,
    last_used_at    TEXT,
    revoked_at      TEXT
);
CREATE INDEX api_keys_organization ON api_keys (organization_id, created_at);

ALTER TABLE audit_log ADD COLUMN api_key_id BLOB;
