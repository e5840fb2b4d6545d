-- Files attached to records: each file is a list of versions, the newest of which is current.
-- The bytes live in the file store (the disk under the data directory, or S3-compatible object
-- storage), one object per uploaded version, keyed under the organization; these rows say
-- what each object is and whose.

CREATE TABLE files (
    organization_id    BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id                 BLOB PRIMARY KEY NOT NULL,
    -- The record the file is attached to: company, contact, lead, deal, or record (a custom
    -- object's).
    record_type        TEXT NOT NULL,
    record_id          BLOB NOT NULL,
    -- The current version's name, type and size, and its number.
    name               TEXT NOT NULL,
    content_type       TEXT NOT NULL,
    size               INTEGER NOT NULL,
    version            INTEGER NOT NULL,
    current_version_id BLOB NOT NULL,
    created_by         BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at         TEXT NOT NULL,
    updated_by         BLOB REFERENCES users (id) ON DELETE SET NULL,
    updated_at         TEXT NOT NULL,
    deleted_at         TEXT,
    deleted_by         BLOB REFERENCES users (id) ON DELETE SET NULL,
    UNIQUE (organization_id, id)
);
CREATE INDEX files_record ON files (organization_id, record_type, record_id, created_at);
CREATE INDEX files_recent ON files (organization_id, updated_at, id);

-- One uploaded version. A restored version is a new version sharing an older one's object.
CREATE TABLE file_versions (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    file_id         BLOB NOT NULL,
    number          INTEGER NOT NULL,
    name            TEXT NOT NULL,
    content_type    TEXT NOT NULL,
    size            INTEGER NOT NULL,
    -- SHA-256 of the bytes, hex.
    sha256          TEXT NOT NULL,
    storage_key     TEXT NOT NULL,
    restored_from   INTEGER,
    uploaded_by     BLOB REFERENCES users (id) ON DELETE SET NULL,
    created_at      TEXT NOT NULL,
    UNIQUE (file_id, number),
    FOREIGN KEY (organization_id, file_id) REFERENCES files (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX file_versions_storage_key ON file_versions (storage_key);

-- Objects of the file store that may have nothing speaking of them: those of purged files and
-- organizations, and every upload from its start (a version row then speaks of it, unless the
-- upload was cut off). The maintenance job removes, after a day, those no version speaks of.
-- Not an organization's table: the platform's job reads it across organizations.
CREATE TABLE file_garbage (
    storage_key TEXT PRIMARY KEY,
    created_at  TEXT NOT NULL
);
