-- Delivery of the outbox: an event is dispatched once.
ALTER TABLE outbox_events ADD COLUMN dispatched_at TEXT;
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_dispatched ON outbox_events (dispatched_at) WHERE dispatched_at IS NOT NULL;

-- The job queue. SQLite has one writer at a time, so claiming a job inside a write transaction
-- is exclusive by itself; a claim is a lease that is taken over once it expires (the worker died).
-- Statuses: queued, running, retrying, succeeded, dead.
CREATE TABLE jobs (
    id              BLOB PRIMARY KEY NOT NULL,
    queue           TEXT NOT NULL,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    priority        INTEGER NOT NULL DEFAULT 0,
    status          TEXT NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    max_attempts    INTEGER NOT NULL,
    run_at          TEXT NOT NULL,
    locked_by       TEXT,
    locked_until    TEXT,
    last_error      TEXT,
    dedupe_key      TEXT UNIQUE,
    organization_id BLOB REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX jobs_due ON jobs (queue, priority DESC, run_at) WHERE status IN ('queued', 'retrying');
CREATE INDEX jobs_running ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_status ON jobs (status, updated_at DESC);

CREATE TABLE job_schedules (
    name        TEXT PRIMARY KEY NOT NULL,
    cron        TEXT NOT NULL,
    next_run_at TEXT NOT NULL,
    last_run_at TEXT
);
