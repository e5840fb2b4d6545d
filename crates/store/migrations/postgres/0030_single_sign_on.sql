-- Single sign-on: an organization names its OpenID Connect provider; people who sign in
-- through it are linked to their Rapport account by the provider's subject, and the sessions
-- they open that way reach that organization only.
CREATE TABLE sso_providers (
    organization_id uuid PRIMARY KEY REFERENCES organizations (id) ON DELETE CASCADE,
    issuer          text NOT NULL,
    client_id       text NOT NULL,
    -- Sealed with the instance's key; never shown again once saved.
    client_secret   text NOT NULL,
    label           text NOT NULL,
    -- Email domains allowed to sign in, space-separated; empty allows any.
    allowed_domains text NOT NULL,
    -- Whether a person the provider vouches for, with no account here yet, joins on first
    -- sign-in, and with which role (a role key).
    auto_join       boolean NOT NULL,
    -- Whether its email addresses count as verified without the email_verified claim (providers
    -- that never send it and control the addresses themselves).
    trust_email     boolean NOT NULL,
    default_role    text NOT NULL,
    enabled         boolean NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
ALTER TABLE sso_providers ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_providers TO rapport_tenant;
CREATE POLICY tenant_isolation ON sso_providers
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

CREATE TABLE sso_identities (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    subject         text NOT NULL,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer          text NOT NULL,
    created_at      timestamptz NOT NULL,
    last_sign_in_at timestamptz NOT NULL,
    PRIMARY KEY (organization_id, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);
ALTER TABLE sso_identities ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON sso_identities TO rapport_tenant;
CREATE POLICY tenant_isolation ON sso_identities
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- A session opened through an organization's single sign-on opens that organization only.
ALTER TABLE sessions ADD COLUMN organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE;

CREATE INDEX sessions_organization ON sessions (organization_id);

-- Members (owners excepted) enter the organization only through its single sign-on.
ALTER TABLE organizations ADD COLUMN sso_required boolean NOT NULL DEFAULT false;
