-- Leads (people not yet qualified) and their conversion, tags on records, saved list views.
CREATE TABLE leads (
    organization_id      uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                   uuid PRIMARY KEY,
    owner_id             uuid NOT NULL REFERENCES users (id),
    name                 text NOT NULL,
    email                text,
    phone                text,
    company_name         text,
    source               text,
    status               text NOT NULL,
    score                bigint NOT NULL DEFAULT 0,
    custom               jsonb NOT NULL DEFAULT '{}',
    converted_at         timestamptz,
    converted_contact_id uuid,
    converted_company_id uuid,
    converted_deal_id    uuid,
    created_at           timestamptz NOT NULL,
    updated_at           timestamptz NOT NULL,
    deleted_at           timestamptz,
    UNIQUE (organization_id, id)
);
CREATE INDEX leads_created ON leads (organization_id, created_at, id);
CREATE INDEX leads_updated ON leads (organization_id, updated_at, id);
CREATE INDEX leads_name ON leads (organization_id, lower(name), id);
CREATE INDEX leads_score ON leads (organization_id, score, id);
CREATE INDEX leads_status ON leads (organization_id, status);
CREATE INDEX leads_owner ON leads (organization_id, owner_id);
ALTER TABLE leads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON leads
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE tags (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    color           text NOT NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX tags_organization_id_name_key ON tags (organization_id, lower(name));
ALTER TABLE tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tags
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE record_tags (
    organization_id uuid NOT NULL,
    tag_id          uuid NOT NULL,
    record_type     text NOT NULL,
    record_id       uuid NOT NULL,
    PRIMARY KEY (organization_id, record_type, record_id, tag_id),
    FOREIGN KEY (organization_id, tag_id) REFERENCES tags (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX record_tags_tag ON record_tags (organization_id, tag_id, record_type, record_id);
ALTER TABLE record_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON record_tags
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE saved_views (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES users (id),
    list            text NOT NULL,
    name            text NOT NULL,
    query           text NOT NULL,
    columns         jsonb NOT NULL DEFAULT '[]',
    shared          boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL
);
CREATE INDEX saved_views_list ON saved_views (organization_id, list, owner_id);
ALTER TABLE saved_views ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON saved_views
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
