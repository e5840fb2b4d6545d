-- Sort keys as columns of their own, as on PostgreSQL (where row-level security keeps lower()
-- and COALESCE() over a column from bounding an index scan), so both engines sort by the same
-- columns. Virtual: computed when read, stored only in their indexes.
ALTER TABLE companies ADD COLUMN name_key TEXT GENERATED ALWAYS AS (lower(name)) VIRTUAL;
ALTER TABLE contacts ADD COLUMN name_key TEXT GENERATED ALWAYS AS (lower(name)) VIRTUAL;
ALTER TABLE leads ADD COLUMN name_key TEXT GENERATED ALWAYS AS (lower(name)) VIRTUAL;
ALTER TABLE deals ADD COLUMN title_key TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL;
ALTER TABLE deals ADD COLUMN close_key TEXT
    GENERATED ALWAYS AS (COALESCE(expected_close_date, '9999-12-31')) VIRTUAL;
ALTER TABLE tasks ADD COLUMN title_key TEXT GENERATED ALWAYS AS (lower(title)) VIRTUAL;
ALTER TABLE tasks ADD COLUMN due_key TEXT
    GENERATED ALWAYS AS (COALESCE(due_date, '9999-12-31')) VIRTUAL;

DROP INDEX companies_name;
CREATE INDEX companies_name ON companies (organization_id, name_key, id);
DROP INDEX contacts_name;
CREATE INDEX contacts_name ON contacts (organization_id, name_key, id);
DROP INDEX leads_name;
CREATE INDEX leads_name ON leads (organization_id, name_key, id);
DROP INDEX deals_title;
CREATE INDEX deals_title ON deals (organization_id, title_key, id);
DROP INDEX deals_close_date;
CREATE INDEX deals_close_date ON deals (organization_id, close_key, id);

-- Sorts that had no index.
CREATE INDEX companies_updated ON companies (organization_id, updated_at, id);
CREATE INDEX tasks_updated ON tasks (organization_id, updated_at, id);
CREATE INDEX tasks_title ON tasks (organization_id, title_key, id);
CREATE INDEX tasks_due ON tasks (organization_id, due_key, id);

-- Live rows, for the totals lists show: counted from these alone, without reading the rows.
CREATE INDEX companies_live ON companies (organization_id) WHERE deleted_at IS NULL;
CREATE INDEX contacts_live ON contacts (organization_id) WHERE deleted_at IS NULL;
CREATE INDEX leads_live ON leads (organization_id, status) WHERE deleted_at IS NULL;
CREATE INDEX deals_live ON deals (organization_id, status) WHERE deleted_at IS NULL;
