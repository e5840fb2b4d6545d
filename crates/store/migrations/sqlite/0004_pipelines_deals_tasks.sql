-- Pipelines with ordered stages, deals moving through them, tasks, and the activity timeline
-- every record shares.
CREATE TABLE pipelines (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    is_default      INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX pipelines_default ON pipelines (organization_id) WHERE is_default = 1;

CREATE TABLE pipeline_stages (
    organization_id BLOB NOT NULL,
    id              BLOB PRIMARY KEY NOT NULL,
    pipeline_id     BLOB NOT NULL,
    key             TEXT NOT NULL,
    name            TEXT NOT NULL,
    position        INTEGER NOT NULL,
    probability     INTEGER NOT NULL,
    rotting_days    INTEGER,
    UNIQUE (pipeline_id, key),
    FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id) ON DELETE CASCADE
);

-- Every existing organization gets the default pipeline.
INSERT INTO pipelines (organization_id, id, name, position, is_default, created_at, updated_at)
SELECT id, randomblob(16), 'Sales', 0, 1, strftime('%Y-%m-%dT%H:%M:%fZ', 'now'), strftime('%Y-%m-%dT%H:%M:%fZ', 'now') FROM organizations;
INSERT INTO pipeline_stages (organization_id, id, pipeline_id, key, name, position, probability, rotting_days)
SELECT p.organization_id, randomblob(16), p.id, s.key, s.name, s.position, s.probability, s.rotting_days
FROM pipelines p CROSS JOIN (
    SELECT 'qualification' AS key, 'Qualification' AS name, 0 AS position, 10 AS probability, 14 AS rotting_days
    UNION ALL SELECT 'proposal', 'Proposal', 1, 40, 14
    UNION ALL SELECT 'negotiation', 'Negotiation', 2, 70, 21
    UNION ALL SELECT 'closed', 'Closed', 3, 100, NULL
) AS s;

-- Deals and tasks link to contacts by (organization_id, id), so a link never crosses tenants.
CREATE UNIQUE INDEX contacts_organization_id ON contacts (organization_id, id);

CREATE TABLE deals (
    organization_id     BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                  BLOB PRIMARY KEY NOT NULL,
    pipeline_id         BLOB NOT NULL,
    stage               TEXT NOT NULL,
    contact_id          BLOB,
    company_id          BLOB,
    owner_id            BLOB NOT NULL REFERENCES users (id),
    title               TEXT NOT NULL,
    amount_minor        INTEGER NOT NULL,
    currency            TEXT NOT NULL,
    status              TEXT NOT NULL,
    close_probability   INTEGER NOT NULL,
    expected_close_date TEXT,
    stage_changed_at    TEXT NOT NULL,
    closed_at           TEXT,
    custom              TEXT NOT NULL DEFAULT '{}',
    created_at          TEXT NOT NULL,
    updated_at          TEXT NOT NULL,
    deleted_at          TEXT,
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE INDEX deals_created ON deals (organization_id, created_at, id);
CREATE INDEX deals_updated ON deals (organization_id, updated_at, id);
CREATE INDEX deals_title ON deals (organization_id, lower(title), id);
CREATE INDEX deals_amount ON deals (organization_id, amount_minor, id);
CREATE INDEX deals_close_date ON deals (organization_id, expected_close_date, id);
CREATE INDEX deals_stage ON deals (organization_id, pipeline_id, stage);
CREATE INDEX deals_contact ON deals (organization_id, contact_id);
CREATE INDEX deals_company ON deals (organization_id, company_id);
CREATE INDEX deals_owner ON deals (organization_id, owner_id);

CREATE TABLE tasks (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    deal_id         BLOB,
    contact_id      BLOB,
    company_id      BLOB,
    assignee_id     BLOB NOT NULL REFERENCES users (id),
    created_by      BLOB NOT NULL REFERENCES users (id),
    title           TEXT NOT NULL,
    description     TEXT,
    due_date        TEXT,
    is_done         INTEGER NOT NULL DEFAULT 0,
    completed_at    TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    FOREIGN KEY (organization_id, deal_id) REFERENCES deals (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE INDEX tasks_created ON tasks (organization_id, created_at, id);
CREATE INDEX tasks_assignee ON tasks (organization_id, assignee_id, is_done, due_date);
CREATE INDEX tasks_deal ON tasks (organization_id, deal_id);
CREATE INDEX tasks_contact ON tasks (organization_id, contact_id);
CREATE INDEX tasks_company ON tasks (organization_id, company_id);

-- One timeline for every kind of record: (record_type, record_id) names the record.
CREATE TABLE activities (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    record_type     TEXT NOT NULL,
    record_id       BLOB NOT NULL,
    author_id       BLOB REFERENCES users (id),
    type            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX activities_record ON activities (organization_id, record_type, record_id, created_at, id);
