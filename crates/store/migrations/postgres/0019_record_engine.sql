-- The record engine: objects (kinds of record) and their fields, the records of custom objects,
-- and one index table of typed values that serves filters, sorts and uniqueness on any field.
--
-- Record values live in one JSON document per record (`data`), read whole with the record. Each
-- value is also written to record_values as a plain number (`num`) or a text that sorts like the
-- value (`txt`: lowercase text, ISO dates, option keys, ids). Plain columns matter: under
-- row-level security PostgreSQL only lets leakproof conditions bound an index scan, and a JSON
-- path or a cast is not one, so expression indexes over `data` would never be used.

CREATE TABLE objects (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    key             text NOT NULL,
    singular        text NOT NULL,
    plural          text NOT NULL,
    icon            text,
    color           text,
    primary_field   text NOT NULL,
    board_field     text,
    position        bigint NOT NULL DEFAULT 0,
    created_by      uuid NOT NULL REFERENCES users (id),
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    UNIQUE (organization_id, id)
);
-- A deleted object keeps its key until it is purged, so restoring it never collides.
CREATE UNIQUE INDEX objects_organization_id_key_key ON objects (organization_id, key);
ALTER TABLE objects ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON objects TO rapport_tenant;
CREATE POLICY tenant_isolation ON objects
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- Fields an organization added, to a custom object or a built-in one (named by its key).
CREATE TABLE fields (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    object_key      text NOT NULL,
    key             text NOT NULL,
    label           text NOT NULL,
    type            text NOT NULL,
    help            text,
    required        boolean NOT NULL DEFAULT false,
    is_unique       boolean NOT NULL DEFAULT false,
    archived        boolean NOT NULL DEFAULT false,
    options         jsonb NOT NULL DEFAULT '[]',
    target          text,
    many            boolean NOT NULL DEFAULT false,
    min_value       double precision,
    max_value       double precision,
    default_value   jsonb,
    rollup          jsonb,
    position        bigint NOT NULL,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX fields_organization_id_object_key_key_key ON fields (organization_id, object_key, key);
ALTER TABLE fields ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON fields TO rapport_tenant;
CREATE POLICY tenant_isolation ON fields
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

CREATE TABLE records (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    object_id       uuid NOT NULL,
    owner_id        uuid NOT NULL REFERENCES users (id),
    data            jsonb NOT NULL DEFAULT '{}',
    -- The primary field as text (titles in lists, relations, search results).
    title           text NOT NULL DEFAULT '',
    -- Lowercase text of the primary and text fields, for "contains" searches.
    search_key      text NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    deleted_at      timestamptz,
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, object_id) REFERENCES objects (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX records_created ON records (organization_id, object_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_updated ON records (organization_id, object_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_live ON records (organization_id, object_id, id) WHERE deleted_at IS NULL;
CREATE INDEX records_deleted ON records (organization_id, deleted_at) WHERE deleted_at IS NOT NULL;
CREATE INDEX records_text ON records USING gin (search_key gin_trgm_ops);
ALTER TABLE records ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON records TO rapport_tenant;
CREATE POLICY tenant_isolation ON records
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- One row per value of a live record (several for a multi-select or a relation to many), for
-- custom objects' records and built-in records' custom fields alike. A deleted record's rows are
-- removed, and written again if it is restored.
CREATE TABLE record_values (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_id       uuid NOT NULL,
    field_id        uuid NOT NULL,
    num             double precision,
    txt             text,
    -- Set only for fields that must be unique: what duplicates share.
    unique_key      text
);
CREATE INDEX record_values_record ON record_values (organization_id, record_id, field_id);
CREATE INDEX record_values_num ON record_values (organization_id, field_id, num, record_id) WHERE num IS NOT NULL;
CREATE INDEX record_values_txt ON record_values (organization_id, field_id, txt, record_id) WHERE txt IS NOT NULL;
CREATE UNIQUE INDEX record_values_organization_id_field_id_unique_key_key
    ON record_values (organization_id, field_id, unique_key) WHERE unique_key IS NOT NULL;
ALTER TABLE record_values ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON record_values TO rapport_tenant;
CREATE POLICY tenant_isolation ON record_values
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- Searches of records go through the trigram index like the other kinds (see migration 0006).
CREATE OR REPLACE FUNCTION rapport_text_query(kind text) RETURNS text
LANGUAGE sql IMMUTABLE AS $fn$
    SELECT CASE kind
        WHEN 'contact' THEN 'SELECT id FROM contacts WHERE organization_id = %L AND (name || '' '' || COALESCE(email, '''') || '' '' || COALESCE(phone, '''')) ILIKE %L'
        WHEN 'contact_title' THEN 'SELECT id FROM contacts WHERE organization_id = %L AND COALESCE(title, '''') ILIKE %L'
        WHEN 'company' THEN 'SELECT id FROM companies WHERE organization_id = %L AND (name || '' '' || COALESCE(domain, '''')) ILIKE %L'
        WHEN 'lead' THEN 'SELECT id FROM leads WHERE organization_id = %L AND (name || '' '' || COALESCE(email, '''') || '' '' || COALESCE(phone, '''') || '' '' || COALESCE(company_name, '''')) ILIKE %L'
        WHEN 'deal' THEN 'SELECT id FROM deals WHERE organization_id = %L AND title ILIKE %L'
        WHEN 'record' THEN 'SELECT id FROM records WHERE organization_id = %L AND search_key LIKE lower(%L)'
    END
$fn$;
