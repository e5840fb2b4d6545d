-- A task may be about a record of a custom object (a berth to inspect, a campaign to review),
-- as it may be about a deal, contact or company. The record is named by id alone: record ids
-- are unique across objects.
ALTER TABLE tasks ADD COLUMN record_id uuid;
CREATE INDEX tasks_record ON tasks (organization_id, record_id) WHERE record_id IS NOT NULL;
