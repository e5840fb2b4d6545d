-- The record engine: objects (kinds of record) and their fields, the records of custom objects,
-- and one index table of typed values that serves filters, sorts and uniqueness on any field
-- (see the PostgreSQL migration of the same number for why values are indexed this way).

CREATE TABLE objects (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    key             TEXT NOT NULL,
    singular        TEXT NOT NULL,
    plural          TEXT NOT NULL,
    icon            TEXT,
    color           TEXT,
    primary_field   TEXT NOT NULL,
    board_field     TEXT,
    position        INTEGER NOT NULL DEFAULT 0,
    created_by      BLOB NOT NULL REFERENCES users (id),
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX objects_organization_id_key_key ON objects (organization_id, key);

CREATE TABLE fields (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    object_key      TEXT NOT NULL,
    key             TEXT NOT NULL,
    label           TEXT NOT NULL,
    type            TEXT NOT NULL,
    help            TEXT,
    required        INTEGER NOT NULL DEFAULT 0,
    is_unique       INTEGER NOT NULL DEFAULT 0,
    archived        INTEGER NOT NULL DEFAULT 0,
    options         TEXT NOT NULL DEFAULT '[]',
    target          TEXT,
    many            INTEGER NOT NULL DEFAULT 0,
    min_value       REAL,
    max_value       REAL,
    default_value   TEXT,
    rollup          TEXT,
    position        INTEGER NOT NULL,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    UNIQUE (organization_id, id)
);
CREATE UNIQUE INDEX fields_organization_id_object_key_key_key ON fields (organization_id, object_key, key);

CREATE TABLE records (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    id              BLOB PRIMARY KEY NOT NULL,
    object_id       BLOB NOT NULL,
    owner_id        BLOB NOT NULL REFERENCES users (id),
    data            TEXT NOT NULL DEFAULT '{}',
    title           TEXT NOT NULL DEFAULT '',
    search_key      TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    deleted_at      TEXT,
    UNIQUE (organization_id, id),
    FOREIGN KEY (organization_id, object_id) REFERENCES objects (organization_id, id) ON DELETE CASCADE
);
CREATE INDEX records_created ON records (organization_id, object_id, created_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_updated ON records (organization_id, object_id, updated_at, id) WHERE deleted_at IS NULL;
CREATE INDEX records_live ON records (organization_id, object_id, id) WHERE deleted_at IS NULL;
CREATE INDEX records_deleted ON records (organization_id, deleted_at) WHERE deleted_at IS NOT NULL;

CREATE VIRTUAL TABLE records_fts USING fts5(text, tokenize = 'trigram');
CREATE TRIGGER records_fts_insert AFTER INSERT ON records BEGIN
    INSERT INTO records_fts (rowid, text) VALUES (new.rowid, new.search_key);
END;
CREATE TRIGGER records_fts_update AFTER UPDATE OF search_key ON records BEGIN
    UPDATE records_fts SET text = new.search_key WHERE rowid = new.rowid;
END;
CREATE TRIGGER records_fts_delete AFTER DELETE ON records BEGIN
    DELETE FROM records_fts WHERE rowid = old.rowid;
END;

CREATE TABLE record_values (
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    record_id       BLOB NOT NULL,
    field_id        BLOB NOT NULL,
    num             REAL,
    txt             TEXT,
    unique_key      TEXT
);
CREATE INDEX record_values_record ON record_values (organization_id, record_id, field_id);
CREATE INDEX record_values_num ON record_values (organization_id, field_id, num, record_id) WHERE num IS NOT NULL;
CREATE INDEX record_values_txt ON record_values (organization_id, field_id, txt, record_id) WHERE txt IS NOT NULL;
CREATE UNIQUE INDEX record_values_organization_id_field_id_unique_key_key
    ON record_values (organization_id, field_id, unique_key) WHERE unique_key IS NOT NULL;
