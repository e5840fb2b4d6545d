-- Sort keys as columns of their own. Under row-level security PostgreSQL lets a condition bound an
-- index scan only when every function in it is leakproof; lower() and COALESCE() over a column
-- are not, so a keyset page sorted by name read the organization's rows from the first one and
-- filtered them (a cursor deep in a big list took seconds). Conditions on these columns bound
-- the scan.
ALTER TABLE companies ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE contacts ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE leads ADD COLUMN name_key text GENERATED ALWAYS AS (lower(name)) STORED;
ALTER TABLE deals ADD COLUMN title_key text GENERATED ALWAYS AS (lower(title)) STORED;
ALTER TABLE deals ADD COLUMN close_key date
    GENERATED ALWAYS AS (COALESCE(expected_close_date, DATE '9999-12-31')) STORED;
ALTER TABLE tasks ADD COLUMN title_key text GENERATED ALWAYS AS (lower(title)) STORED;
ALTER TABLE tasks ADD COLUMN due_key date
    GENERATED ALWAYS AS (COALESCE(due_date, DATE '9999-12-31')) STORED;

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
