-- Roles as data. An organization's custom roles, and its system roles once it tunes them (a row
-- with `is_system` whose key is the level): each with a level (what it may administer) and a
-- permission matrix over record kinds (`grants`, see the domain's `access` module). A member,
-- an invitation or an API key of a custom role names it in `role_id`; their `role` column keeps
-- the role's level, so administration reads one column.
CREATE TABLE roles (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    level           TEXT NOT NULL CHECK (level IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    is_system       INTEGER NOT NULL DEFAULT 0,
    grants          TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organization_id, key),
    UNIQUE (organization_id, id)
);

ALTER TABLE memberships ADD COLUMN role_id BLOB REFERENCES roles (id);
CREATE INDEX memberships_role ON memberships (organization_id, role_id) WHERE role_id IS NOT NULL;
ALTER TABLE invitations ADD COLUMN role_id BLOB REFERENCES roles (id);
ALTER TABLE api_keys ADD COLUMN role_id BLOB REFERENCES roles (id);
