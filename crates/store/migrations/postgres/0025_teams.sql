-- Teams: groups of an organization's members, each with an optional lead. A record belongs to
-- its owner's teams: a role whose scope is "team" reaches the records of everyone who shares a
-- team with the member. `name_key` is the name in lowercase (names are unique, whatever their case).
CREATE TABLE teams (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    name_key        text NOT NULL,
    description     text NOT NULL DEFAULT '',
    lead_id         uuid REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, name_key),
    UNIQUE (organization_id, id)
);
ALTER TABLE teams ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON teams TO rapport_tenant;
CREATE POLICY tenant_isolation ON teams
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- A team's members are members of its organization: leaving the organization leaves its teams.
CREATE TABLE team_members (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id         uuid NOT NULL,
    user_id         uuid NOT NULL,
    created_at      timestamptz NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, user_id) REFERENCES memberships (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (organization_id, user_id);
ALTER TABLE team_members ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON team_members TO rapport_tenant;
CREATE POLICY tenant_isolation ON team_members
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));
