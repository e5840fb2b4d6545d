-- Roles as data. An organization's custom roles, and its system roles once it tunes them (a row
-- with `is_system` whose key is the level): each with a level (what it may administer) and a
-- permission matrix over record kinds (`grants`, see the domain's `access` module). A member,
-- an invitation or an API key of a custom role names it in `role_id`; their `role` column keeps
-- the role's level, so administration reads one column.
CREATE TABLE roles (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    key             text NOT NULL,
    name            text NOT NULL,
    description     text NOT NULL DEFAULT '',
    level           text NOT NULL CHECK (level IN ('owner', 'admin', 'manager', 'member', 'viewer')),
    is_system       boolean NOT NULL DEFAULT false,
    grants          jsonb NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, key),
    UNIQUE (organization_id, id)
);
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON roles TO rapport_tenant;
CREATE POLICY tenant_isolation ON roles
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

ALTER TABLE memberships ADD COLUMN role_id uuid;
ALTER TABLE memberships ADD FOREIGN KEY (organization_id, role_id) REFERENCES roles (organization_id, id);
CREATE INDEX memberships_role ON memberships (organization_id, role_id) WHERE role_id IS NOT NULL;
ALTER TABLE invitations ADD COLUMN role_id uuid;
ALTER TABLE invitations ADD FOREIGN KEY (organization_id, role_id) REFERENCES roles (organization_id, id);
ALTER TABLE api_keys ADD COLUMN role_id uuid;
ALTER TABLE api_keys ADD FOREIGN KEY (organization_id, role_id) REFERENCES roles (organization_id, id);
