-- Support access: an instance administrator asks to open an organization, for a reason and a
-- number of hours; one of its owners approves or denies; an approved grant lasts until it
-- expires or an owner revokes it. Every request made under it is in the organization's audit
-- log.
CREATE TABLE support_grants (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    requested_by    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    reason          TEXT NOT NULL,
    access          TEXT NOT NULL,
    hours           INTEGER NOT NULL,
    status          TEXT NOT NULL,
    decided_by      BLOB REFERENCES users (id) ON DELETE SET NULL,
    decided_at      TEXT,
    expires_at      TEXT,
    revoked_at      TEXT,
    created_at      TEXT NOT NULL
);
CREATE INDEX support_grants_organization ON support_grants (organization_id, created_at);
CREATE INDEX support_grants_requester ON support_grants (requested_by, organization_id);
