-- Files attached to records: each file is a list of versions, the newest of which is current.
-- The bytes live in the file store (the disk under the data directory, or S3-compatible object
-- storage), one object per uploaded version, keyed under the organization; these rows say
-- what each object is and whose.

CREATE TABLE files (
    organization_id    uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                 uuid PRIMARY KEY,
    -- The record the file is attached to: company, contact, lead, deal, or record (a custom
    -- object's).
    record_type        text NOT NULL,
    record_id          uuid NOT NULL,
    -- The current version's name, type and size, and its number.
    name               text NOT NULL,
    content_type       text NOT NULL,
    size               bigint NOT NULL,
    version            integer NOT NULL,
    current_version_id uuid NOT NULL,
    created_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at         timestamptz NOT NULL,
    updated_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    updated_at         timestamptz NOT NULL,
    deleted_at         timestamptz,
    deleted_by         uuid REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (organization_id, id)
);
CREATE INDEX files_record ON files (organization_id, record_type, record_id, created_at);
CREATE INDEX files_recent ON files (organization_id, updated_at, id);
ALTER TABLE files ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON files TO rapport_tenant;
CREATE POLICY tenant_isolation ON files
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- One uploaded version. A restored version is a new version sharing an older one's object.
CREATE TABLE file_versions (
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              uuid PRIMARY KEY,
    file_id         uuid NOT NULL,
    number          integer NOT NULL,
    name            text NOT NULL,
    content_type    text NOT NULL,
    size            bigint NOT NULL,
    -- SHA-256 of the bytes, hex.
    sha256          text NOT NULL,
    storage_key     text NOT NULL,
    restored_from   integer,
    uploaded_by     uuid REFERENCES users (id) ON DELETE SET NULL,
    created_at      timestamptz NOT NULL,
    UNIQUE (file_id, number),
    FOREIGN KEY (organization_id, file_id) REFERENCES files (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX file_versions_storage_key ON file_versions (storage_key);
ALTER TABLE file_versions ENABLE ROW LEVEL SECURITY;
GRANT SELECT, INSERT, UPDATE, DELETE ON file_versions TO rapport_tenant;
CREATE POLICY tenant_isolation ON file_versions
    USING (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)))
    WITH CHECK (organization_id = (SELECT s.organization_id FROM tenant_scopes s WHERE s.secret = current_setting('rapport.organization_id', true)));

-- Objects of the file store that may have nothing speaking of them: those of purged files and
-- organizations, and every upload from its start (a version row then speaks of it, unless the
-- upload was cut off). The maintenance job removes, after a day, those no version speaks of.
-- Not an organization's table: the platform's job reads it across organizations.
CREATE TABLE file_garbage (
    storage_key text PRIMARY KEY,
    created_at  timestamptz NOT NULL
);
