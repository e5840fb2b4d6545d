-- The client portal: people outside the organization (a client's staff, a berth holder) who
-- sign in under its branding to follow what concerns them. They are not users: no membership,
-- no role, nothing that reaches the staff pages or the API. Every table here is the
-- organization's own.

-- What the portal shows, per organization. `objects` is a JSON document naming the custom
-- objects whose records linked to a client's company or contact appear in the portal, each with
-- the fields shown besides its title and stage: {"berths": ["length", "price"]}.
CREATE TABLE portal_settings (
    organization_id BLOB PRIMARY KEY NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    enabled         INTEGER NOT NULL,
    welcome         TEXT NOT NULL,
    show_deals      INTEGER NOT NULL,
    show_amounts    INTEGER NOT NULL,
    objects         TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);

-- A client: the company and contact they speak for (both optional; records reach them through
-- these links or by being shared with them one by one).
CREATE TABLE portal_users (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    email           TEXT NOT NULL,
    name            TEXT NOT NULL,
    company_id      BLOB,
    contact_id      BLOB,
    -- Set when they accept their invitation.
    password_hash   TEXT,
    invited_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    last_sign_in_at TEXT,
    deactivated_at  TEXT,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX portal_users_email ON portal_users (organization_id, email);
CREATE INDEX portal_users_company ON portal_users (organization_id, company_id) WHERE company_id IS NOT NULL;

-- Single-use links sent by email: an invitation (choose a password) or a password reset.
CREATE TABLE portal_tokens (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    portal_user_id  BLOB NOT NULL,
    purpose         TEXT NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    used_at         TEXT,
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_tokens_user ON portal_tokens (portal_user_id);

CREATE TABLE portal_sessions (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    portal_user_id  BLOB NOT NULL,
    token_hash      BLOB NOT NULL UNIQUE,
    csrf_token      TEXT NOT NULL,
    ip              TEXT,
    user_agent      TEXT,
    created_at      TEXT NOT NULL,
    last_seen_at    TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    revoked_at      TEXT,
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_sessions_user ON portal_sessions (portal_user_id);

-- A deal or custom record shared with one client by a member.
CREATE TABLE portal_shares (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    portal_user_id  BLOB NOT NULL,
    record_type     TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    shared_by       BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (portal_user_id, record_id),
    FOREIGN KEY (organization_id, portal_user_id) REFERENCES portal_users (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX portal_shares_record ON portal_shares (organization_id, record_id);

-- A task its record's clients see in the portal.
ALTER TABLE tasks ADD COLUMN portal_visible INTEGER NOT NULL DEFAULT 0;

-- A comment its record's clients see (a member's, shared; or a client's own).
ALTER TABLE activities ADD COLUMN portal INTEGER NOT NULL DEFAULT 0;
CREATE INDEX activities_portal ON activities (organization_id, record_id, created_at) WHERE portal;
