-- The client portal: people outside the organization (a client's staff, a berth holder) who
-- sign in under its branding to follow what concerns them. They are not users: no membership,
-- no role, nothing that reaches the staff pages or the API. Every table here is the
-- organization's own.

-- What the portal shows, per organization. `objects` is a JSON document naming the custom
-- objects whose records linked to a client's company or contact appear in the portal, each with
-- the fields shown besides its title and stage: {"berths": ["length", "price"]}.
CREATE TABLE portal_settings (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    enabled         boolean NOT NULL,
    welcome         text NOT NULL,
    show_deals      boolean NOT NULL,
    show_amounts    boolean NOT NULL,
    objects         text NOT NULL,
    updated_at      timestamptz NOT NULL
);
ALTER TABLE portal_settings ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON portal_settings TO rapport_tenant;
CREATE POLICY tenant_isolation ON portal_settings
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- A client: the company and contact they speak for (both optional; records reach them through
-- these links or by being shared with them one by one).
CREATE TABLE portal_users (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    name            text NOT NULL,
    company_id      uuid,
    contact_id      uuid,
    -- Set when they accept their invitation.
    password_hash   text,
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz,
    deactivated_at  timestamptz,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX portal_users_email ON portal_users (organization_id, email);
CREATE INDEX portal_users_company ON portal_users (organization_id, company_id) WHERE company_id IS NOT NULL;
ALTER TABLE portal_users ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON portal_users TO rapport_tenant;
CREATE POLICY tenant_isolation ON portal_users
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- Single-use links sent by email: an invitation (choose a password) or a password reset.
CREATE TABLE portal_tokens (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    portal_user_id  uuid NOT NULL,
    purpose         text NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    used_at         timestamptz,
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_tokens_user ON portal_tokens (portal_user_id);
ALTER TABLE portal_tokens ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON portal_tokens TO rapport_tenant;
CREATE POLICY tenant_isolation ON portal_tokens
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

CREATE TABLE portal_sessions (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    portal_user_id  uuid NOT NULL,
    token_hash      bytea NOT NULL UNIQUE,
    csrf_token      text NOT NULL,
    ip              text,
    user_agent      text,
    created_at      timestamptz NOT NULL,
    last_seen_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    revoked_at      timestamptz,
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_sessions_user ON portal_sessions (portal_user_id);
ALTER TABLE portal_sessions ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON portal_sessions TO rapport_tenant;
CREATE POLICY tenant_isolation ON portal_sessions
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- A deal or custom record shared with one client by a member.
CREATE TABLE portal_shares (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    portal_user_id  uuid NOT NULL,
    record_type     text NOT NULL,
    record_id       uuid NOT NULL,
    shared_by       uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (portal_user_id, record_id),
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_shares_record ON portal_shares (organization_id, record_id);
ALTER TABLE portal_shares ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON portal_shares TO rapport_tenant;
CREATE POLICY tenant_isolation ON portal_shares
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- A task its record's clients see in the portal.
ALTER TABLE tasks ADD COLUMN portal_visible boolean NOT NULL DEFAULT false;

-- A comment its record's clients see (a member's, shared; or a client's own).
ALTER TABLE activities ADD COLUMN portal boolean NOT NULL DEFAULT false;
CREATE INDEX activities_portal ON activities (organization_id, record_id, created_at) WHERE portal;
