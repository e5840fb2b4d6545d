-- Single sign-on: an organization names its OpenID Connect provider; people who sign in
-- through it are linked to their Rapport account by the provider's subject, and the sessions
-- they open that way reach that organization only.
CREATE TABLE sso_providers (
    organization_id BLOB PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    issuer          TEXT NOT NULL,
    client_id       TEXT NOT NULL,
    -- Sealed with the instance's key; never shown again once saved.
    client_secret   TEXT NOT NULL,
    label           TEXT NOT NULL,
    -- Email domains allowed to sign in, space-separated; empty allows any.
    allowed_domains TEXT NOT NULL,
    -- Whether a person the provider vouches for, with no account here yet, joins on first
    -- sign-in, and with which role (a role key).
    auto_join       INTEGER NOT NULL,
    -- Whether its email addresses count as verified without the email_verified claim (providers
    -- that never send it and control the addresses themselves).
    trust_email     INTEGER NOT NULL,
    default_role    TEXT NOT NULL,
    enabled         INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

CREATE TABLE sso_identities (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    subject         TEXT NOT NULL,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    issuer          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    last_sign_in_at TEXT NOT NULL,
    PRIMARY KEY (organization_id, issuer, subject)
);
CREATE INDEX sso_identities_user ON sso_identities (user_id);

-- A session opened through an organization's single sign-on opens that organization only.
ALTER TABLE sessions ADD COLUMN organization_id BLOB REFERENCES organizations (id) ON DELETE CASCADE;

CREATE INDEX sessions_organization ON sessions (organization_id);

-- Members (owners excepted) enter the organization only through its single sign-on.
ALTER TABLE organizations ADD COLUMN sso_required INTEGER NOT NULL DEFAULT 0;
