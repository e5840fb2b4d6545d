-- Leads (people not yet qualified) and their conversion, tags on records, saved list views.
CREATE TABLE leads (
    organization_id      BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   BLOB PRIMARY KEY NOT NULL,
    owner_id             BLOB NOT NULL REFERENCES users (id),
    name                 TEXT NOT NULL,
    email                TEXT,
    phone                TEXT,
    company_name         TEXT,
    source               TEXT,
    status               TEXT NOT NULL,
    score                INTEGER NOT NULL DEFAULT 0,
    custom               TEXT NOT NULL DEFAULT '{}',
    converted_at         TEXT,
    converted_contact_id BLOB,
    converted_company_id BLOB,
    converted_deal_id    BLOB,
    created_at           TEXT NOT NULL,
    updated_at           TEXT NOT NULL,
    deleted_at           TEXT,
    UNIQUE (organization_id, id)
);
CREATE INDEX leads_created ON leads (organization_id, created_at, id);
CREATE INDEX leads_updated ON leads (organization_id, updated_at, id);
CREATE INDEX leads_name ON leads (organization_id, lower(name), id);
CREATE INDEX leads_score ON leads (organization_id, score, id);
CREATE INDEX leads_status ON leads (organization_id, status);
CREATE INDEX leads_owner ON leads (organization_id, owner_id);

CREATE TABLE tags (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    color           TEXT NOT NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX tags_organization_id_name_key ON tags (organization_id, lower(name));

CREATE TABLE record_tags (
    organization_id BLOB NOT NULL,
    tag_id          BLOB NOT NULL,
    record_type     TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    PRIMARY KEY (organization_id, record_type, record_id, tag_id),
    FOREIGN KEY (organization_id, tag_id) REFERENCES tags (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX record_tags_tag ON record_tags (organization_id, tag_id, record_type, record_id);

CREATE TABLE saved_views (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    owner_id        BLOB NOT NULL REFERENCES users (id),
    list            TEXT NOT NULL,
    name            TEXT NOT NULL,
    query           TEXT NOT NULL,
    columns         TEXT NOT NULL DEFAULT '[]',
    shared          INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL
);
CREATE INDEX saved_views_list ON saved_views (organization_id, list, owner_id);
