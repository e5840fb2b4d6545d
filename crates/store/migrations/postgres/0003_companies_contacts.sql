-- Companies and contacts: the first CRM records. Every record keeps a JSON `custom` column for
-- custom field values, and soft deletion (deleted_at) for restore from "recently deleted".
CREATE TABLE companies (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES users (id),
    name            text NOT NULL,
    domain          text,
    industry        text,
    size            text,
    address         text,
    custom          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    UNIQUE (organization_id, id)
);
CREATE INDEX companies_name ON companies (organization_id, lower(name), id);
CREATE INDEX companies_created ON companies (organization_id, created_at, id);
CREATE INDEX companies_domain ON companies (organization_id, domain);
ALTER TABLE companies ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON companies
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE contacts (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    owner_id        uuid NOT NULL REFERENCES users (id),
    company_id      uuid,
    name            text NOT NULL,
    email           text,
    phone           text,
    title           text,
    custom          jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE INDEX contacts_name ON contacts (organization_id, lower(name), id);
CREATE INDEX contacts_created ON contacts (organization_id, created_at, id);
CREATE INDEX contacts_updated ON contacts (organization_id, updated_at, id);
CREATE INDEX contacts_company ON contacts (organization_id, company_id);
CREATE INDEX contacts_owner ON contacts (organization_id, owner_id);
ALTER TABLE contacts ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contacts
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
