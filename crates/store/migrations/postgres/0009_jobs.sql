-- Delivery of the outbox: an event is dispatched once, by whichever server claims it first.
ALTER TABLE outbox_events ADD COLUMN dispatched_at timestamptz;
CREATE INDEX outbox_events_undispatched ON outbox_events (id) WHERE dispatched_at IS NULL;
CREATE INDEX outbox_events_dispatched ON outbox_events (dispatched_at) WHERE dispatched_at IS NOT NULL;

-- The job queue. A worker claims a due job with FOR UPDATE SKIP LOCKED, so several workers never
-- run one job at once; a claim is a lease that another worker takes over once it expires (the
-- first worker died). Statuses: queued, running, retrying (failed, waiting for its next attempt),
-- succeeded, dead (out of attempts; an admin may retry it).
CREATE TABLE jobs (
    id              uuid PRIMARY KEY,
    queue           text NOT NULL,
    kind            text NOT NULL,
    payload         jsonb NOT NULL DEFAULT '{}',
    priority        bigint NOT NULL DEFAULT 0,
    status          text NOT NULL,
    attempts        bigint NOT NULL DEFAULT 0,
    max_attempts    bigint NOT NULL,
    run_at          timestamptz NOT NULL,
    locked_by       text,
    locked_until    timestamptz,
    last_error      text,
    dedupe_key      text UNIQUE,
    organization_id uuid REFERENCES organizations (id) ON DELETE CASCADE,
    created_at      timestamptz NOT NULL,
    updated_at      timestamptz NOT NULL,
    finished_at     timestamptz
);
CREATE INDEX jobs_due ON jobs (queue, priority DESC, run_at) WHERE status IN ('queued', 'retrying');
CREATE INDEX jobs_running ON jobs (locked_until) WHERE status = 'running';
CREATE INDEX jobs_status ON jobs (status, updated_at DESC);
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

-- Recurring jobs: the next time each is due. The worker that moves next_run_at forward enqueues
-- the run, so a schedule fires once per slot however many workers there are.
CREATE TABLE job_schedules (
    name        text PRIMARY KEY,
    cron        text NOT NULL,
    next_run_at timestamptz NOT NULL,
    last_run_at timestamptz
);
