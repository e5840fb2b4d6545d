-- Pipelines with ordered stages, deals moving through them, tasks, and the activity timeline
-- every record shares.
CREATE TABLE pipelines (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    name            text NOT NULL,
    position        bigint NOT NULL,
    is_default      boolean NOT NULL DEFAULT false,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX pipelines_default ON pipelines (organization_id) WHERE is_default;
ALTER TABLE pipelines ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipelines
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE pipeline_stages (
    organization_id uuid NOT NULL,
    id              uuid PRIMARY KEY,
    pipeline_id     uuid NOT NULL,
    key             text NOT NULL,
    name            text NOT NULL,
    position        bigint NOT NULL,
    probability     bigint NOT NULL,
    rotting_days    bigint,
    UNIQUE (pipeline_id, key),
    FOREIGN KEY (organization_id, pipeline_id) REFERENCES pipelines (organization_id, id) ON DELETE CASCADE
);
ALTER TABLE pipeline_stages ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pipeline_stages
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

-- Every existing organization gets the default pipeline.
INSERT INTO pipelines (organization_id, id, name, position, is_default, created_at, updated_at)
SELECT id, gen_random_uuid(), 'Sales', 0, true, now(), now() FROM organizations;
INSERT INTO pipeline_stages (organization_id, id, pipeline_id, key, name, position, probability, rotting_days)
SELECT p.organization_id, gen_random_uuid(), p.id, s.key, s.name, s.position, s.probability, s.rotting_days
FROM pipelines p CROSS JOIN (VALUES
    ('qualification', 'Qualification', 0, 10, 14),
    ('proposal', 'Proposal', 1, 40, 14),
    ('negotiation', 'Negotiation', 2, 70, 21),
    ('closed', 'Closed', 3, 100, NULL)
) AS s (key, name, position, probability, rotting_days);

-- Deals and tasks link to contacts by (organization_id, id), so a link never crosses tenants.
CREATE UNIQUE INDEX contacts_organization_id ON contacts (organization_id, id);

CREATE TABLE deals (
    organization_id     uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                  uuid PRIMARY KEY,
    pipeline_id         uuid NOT NULL,
    stage               text NOT NULL,
    contact_id          uuid,
    company_id          uuid,
    owner_id            uuid NOT NULL REFERENCES users (id),
    title               text NOT NULL,
    amount_minor        bigint NOT NULL,
    currency            text NOT NULL,
    status              text NOT NULL,
    close_probability   bigint NOT NULL,
    expected_close_date date,
    stage_changed_at    timestamptz NOT NULL,
    closed_at           timestamptz,
    custom              jsonb NOT NULL DEFAULT '{}',
    created_at          timestamptz NOT NULL,
    updated_at          timestamptz NOT NULL,
    deleted_at          timestamptz,
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
ALTER TABLE deals ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON deals
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

CREATE TABLE tasks (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    deal_id         uuid,
    contact_id      uuid,
    company_id      uuid,
    assignee_id     uuid NOT NULL REFERENCES users (id),
    created_by      uuid NOT NULL REFERENCES users (id),
    title           text NOT NULL,
    description     text,
    due_date        date,
    is_done         boolean NOT NULL DEFAULT false,
    completed_at    timestamptz,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    FOREIGN KEY (organization_id, deal_id) REFERENCES deals (organization_id, id),
    FOREIGN KEY (organization_id, contact_id) REFERENCES contacts (organization_id, id),
    FOREIGN KEY (organization_id, company_id) REFERENCES companies (organization_id, id)
);
CREATE INDEX tasks_created ON tasks (organization_id, created_at, id);
CREATE INDEX tasks_assignee ON tasks (organization_id, assignee_id, is_done, due_date);
CREATE INDEX tasks_deal ON tasks (organization_id, deal_id);
CREATE INDEX tasks_contact ON tasks (organization_id, contact_id);
CREATE INDEX tasks_company ON tasks (organization_id, company_id);
ALTER TABLE tasks ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tasks
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

-- One timeline for every kind of record: (record_type, record_id) names the record.
CREATE TABLE activities (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    record_type     text NOT NULL,
    record_id       uuid NOT NULL,
    author_id       uuid REFERENCES users (id),
    type            text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL
);
CREATE INDEX activities_record ON activities (organization_id, record_type, record_id, created_at, id);
ALTER TABLE activities ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON activities
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
