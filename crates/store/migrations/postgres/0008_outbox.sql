-- The transactional outbox: every committed change of an organization's data writes its domain
-- events in the same transaction (catalogue: docs/EVENTS.md). Ids are UUIDv7, so they order the
-- events as they were written.
CREATE TABLE outbox_events (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    event_type      text NOT NULL,
    version         bigint NOT NULL,
    record_type     text,
    record_id       uuid,
    changed         jsonb NOT NULL DEFAULT '[]',
    actor_id        uuid,
    payload         jsonb NOT NULL DEFAULT '{}',
    created_at      timestamptz NOT NULL
);
CREATE INDEX outbox_events_organization ON outbox_events (organization_id, id);
ALTER TABLE outbox_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON outbox_events
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());
