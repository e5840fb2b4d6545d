-- Companies and contacts: the first CRM records. Every record keeps a JSON `custom` column for
-- custom field values, and soft deletion (deleted_at) for restore from "recently deleted".
CREATE TABLE companies (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    owner_id        BLOB NOT NULL REFERENCES users (id),
    name            TEXT NOT NULL,
    domain          TEXT,
    industry        TEXT,
    size            TEXT,
    address         TEXT,
    custom          TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (organization_id, id)
);
CREATE INDEX companies_name ON companies (organization_id, lower(name), id);
CREATE INDEX companies_created ON companies (organization_id, created_at, id);
CREATE INDEX companies_domain ON companies (organization_id, domain);

CREATE TABLE contacts (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    owner_id        BLOB NOT NULL REFERENCES users (id),
    company_id      BLOB,
    name            TEXT NOT NULL,
    email           TEXT,
    phone           TEXT,
    title           TEXT,
    custom          TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE INDEX contacts_name ON contacts (organization_id, lower(name), id);
CREATE INDEX contacts_created ON contacts (organization_id, created_at, id);
CREATE INDEX contacts_updated ON contacts (organization_id, updated_at, id);
CREATE INDEX contacts_company ON contacts (organization_id, company_id);
CREATE INDEX contacts_owner ON contacts (organization_id, owner_id);
