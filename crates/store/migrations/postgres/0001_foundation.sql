-- Rapport foundation: organizations, accounts, access, audit, email outbox (PostgreSQL).
--
-- Tenant isolation: every tenant-owned table carries organization_id and a row-level security
-- policy that only shows rows of the organization named by the transaction setting
-- rapport.organization_id. Tenant transactions run under the role rapport_tenant (switched to
-- with SET LOCAL ROLE), which the policies bind; platform transactions (sign-in, tenant
-- resolution, instance administration) run as the connecting role, which owns the tables.

DO $$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = 'rapport_tenant') THEN
        CREATE ROLE rapport_tenant NOLOGIN;
    END IF;
EXCEPTION WHEN duplicate_object OR unique_violation THEN
    NULL; -- created concurrently by another database's migration
END
$$;
DO $$
BEGIN
    -- Superusers may switch to any role; other roles need membership.
    IF NOT pg_has_role(current_user, 'rapport_tenant', 'MEMBER') THEN
        EXECUTE format('GRANT rapport_tenant TO %I', current_user);
    END IF;
END
$$;
GRANT USAGE ON SCHEMA public TO rapport_tenant;
ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO rapport_tenant;

CREATE FUNCTION rapport_current_organization() RETURNS uuid
    LANGUAGE sql STABLE
    AS $$ SELECT NULLIF(current_setting('rapport.organization_id', true), '')::uuid $$;

CREATE TABLE organizations (
    id            uuid PRIMARY KEY,
    slug          text NOT NULL UNIQUE,
    name          text NOT NULL,
    currency      text NOT NULL,
    time_zone     text NOT NULL,
    status        text NOT NULL CHECK (status IN ('active', 'suspended')),
    primary_color text,
    settings      jsonb NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    deleted_at    timestamptz,
    purge_after   timestamptz
);
CREATE INDEX organizations_created_at ON organizations (created_at, id);
ALTER TABLE organizations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organizations
    USING (id = rapport_current_organization())
    WITH CHECK (id = rapport_current_organization());

CREATE TABLE organization_logos (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    content_type    text NOT NULL,
    data            bytea NOT NULL,
    updated_at      timestamptz NOT NULL
);

CREATE TABLE organization_domains (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    domain          text NOT NULL UNIQUE,
    created_at      timestamptz NOT NULL
);
CREATE INDEX organization_domains_organization ON organization_domains (organization_id, domain);

CREATE TABLE users (
    id                uuid PRIMARY KEY,
    email             text NOT NULL UNIQUE,
    name              text NOT NULL,
    password_hash     text NOT NULL,
    is_instance_admin boolean NOT NULL DEFAULT false,
    created_at        timestamptz NOT NULL,
    updated_at        timestamptz NOT NULL
);

CREATE TABLE memberships (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, user_id)
);
CREATE INDEX memberships_user ON memberships (user_id);

CREATE TABLE invitations (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    email           text NOT NULL,
    role            text NOT NULL CHECK (role IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    token_hash      bytea NOT NULL UNIQUE,
    invited_by      uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    accepted_at     timestamptz,
    revoked_at      timestamptz
);
CREATE INDEX invitations_organization ON invitations (organization_id, created_at);

CREATE TABLE refresh_tokens (
    id          uuid PRIMARY KEY,
    family_id   uuid NOT NULL,
    user_id     uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash  bytea NOT NULL UNIQUE,
    created_at  timestamptz NOT NULL,
    expires_at  timestamptz NOT NULL,
    used_at     timestamptz,
    revoked_at  timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family_id);

CREATE TABLE sessions (
    id           uuid PRIMARY KEY,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    csrf_token   text NOT NULL,
    ip           text,
    user_agent   text,
    created_at   timestamptz NOT NULL,
    last_seen_at timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    revoked_at   timestamptz
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE password_resets (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at    timestamptz
);

CREATE TABLE login_failures (
    id           uuid PRIMARY KEY,
    email        text NOT NULL,
    ip           text NOT NULL,
    attempted_at timestamptz NOT NULL
);
CREATE INDEX login_failures_key ON login_failures (email, ip, attempted_at);

CREATE TABLE audit_log (
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    actor_id        uuid,
    actor_email     text,
    action          text NOT NULL,
    target_type     text,
    target_id       text,
    changes         jsonb,
    ip              text,
    user_agent      text,
    request_id      text,
    created_at      timestamptz NOT NULL
);
CREATE INDEX audit_log_organization ON audit_log (organization_id, created_at, id);

CREATE TABLE email_outbox (
    id         uuid PRIMARY KEY,
    to_address text NOT NULL,
    subject    text NOT NULL,
    text_body  text NOT NULL,
    created_at timestamptz NOT NULL
);
CREATE INDEX email_outbox_created ON email_outbox (created_at, id);

-- Row-level security on every tenant-owned table.
ALTER TABLE organization_logos ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_logos
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE organization_domains ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON organization_domains
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE memberships ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON memberships
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE invitations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invitations
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
