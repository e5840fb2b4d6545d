-- Teams: groups of an organization's members, each with an optional lead. A record belongs to
-- its owner's teams: a role whose scope is "team" reaches the records of everyone who shares a
-- team with the member. `name_key` is the name in lowercase (names are unique, whatever their case).
CREATE TABLE teams (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    name_key        TEXT NOT NULL,
    description     TEXT NOT NULL DEFAULT '',
    lead_id         BLOB REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organization_id, name_key),
    UNIQUE (organization_id, id)
);

-- A team's members are members of its organization: leaving the organization leaves its teams.
CREATE TABLE team_members (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    team_id         BLOB NOT NULL,
    user_id         BLOB NOT NULL,
    created_at      TEXT NOT NULL,
    PRIMARY KEY (team_id, user_id),
    FOREIGN KEY (organization_id, team_id) REFERENCES teams (organization_id, id) ON DELETE CASCADE,
    FOREIGN KEY (organization_id, user_id) REFERENCES memberships (organization_id, user_id) ON DELETE CASCADE
);
CREATE INDEX team_members_user ON team_members (organization_id, user_id);
