-- The transactional outbox: every committed change of an organization's data writes its domain
-- events in the same transaction (catalogue: docs/EVENTS.md). Ids are UUIDv7, so they order the
-- events as they were written.
CREATE TABLE outbox_events (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    event_type      TEXT NOT NULL,
    version         INTEGER NOT NULL,
    record_type     TEXT,
    record_id       BLOB,
    changed         TEXT NOT NULL DEFAULT '[]',
    actor_id        BLOB,
    payload         TEXT NOT NULL DEFAULT '{}',
    created_at      TEXT NOT NULL
);
CREATE INDEX outbox_events_organization ON outbox_events (organization_id, id);
