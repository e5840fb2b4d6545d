-- Notifications: what a member should know of, in the app and by email. One row per recipient;
-- (event_id, user_id, kind) is unique, so dispatching an event twice cannot notify twice.
CREATE TABLE notifications (
    id              uuid PRIMARY KEY,
    organization_id uuid NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            text NOT NULL,
    event_id        uuid NOT NULL,
    record_type     text,
    record_id       uuid,
    actor_id        uuid,
    title           text NOT NULL,
    body            text NOT NULL DEFAULT '',
    link            text NOT NULL DEFAULT '',
    read_at         timestamptz,
    email           text NOT NULL DEFAULT 'none',
    emailed_at      timestamptz,
    created_at      timestamptz NOT NULL,
    UNIQUE (event_id, user_id, kind)
);
CREATE INDEX notifications_inbox ON notifications (organization_id, user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (organization_id, user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_digest ON notifications (user_id, created_at) WHERE email = 'digest' AND emailed_at IS NULL;
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications
    USING (organization_id = rapport_current_organization())
    WITH CHECK (organization_id = rapport_current_organization());

-- Each person's choices per kind of notification: in the app or not, and by email never,
-- at once, or in a daily digest. A missing row means the kind's default.
CREATE TABLE notification_preferences (
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    text NOT NULL,
    in_app  boolean NOT NULL,
    email   text NOT NULL,
    PRIMARY KEY (user_id, kind)
);

-- Task reminders: when to remind the assignee, and whether it was sent.
ALTER TABLE tasks ADD COLUMN remind_at timestamptz;
ALTER TABLE tasks ADD COLUMN reminded_at timestamptz;
CREATE INDEX tasks_reminders ON tasks (remind_at) WHERE remind_at IS NOT NULL AND reminded_at IS NULL;
