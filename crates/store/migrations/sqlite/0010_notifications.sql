-- Notifications: what a member should know of, in the app and by email. One row per recipient;
-- (event_id, user_id, kind) is unique, so dispatching an event twice cannot notify twice.
CREATE TABLE notifications (
    id              BLOB PRIMARY KEY NOT NULL,
    organization_id BLOB NOT NULL REFERENCES organizations (id) ON DELETE CASCADE,
    user_id         BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    event_id        BLOB NOT NULL,
    record_type     TEXT,
    record_id       BLOB,
    actor_id        BLOB,
    title           TEXT NOT NULL,
    body            TEXT NOT NULL DEFAULT '',
    link            TEXT NOT NULL DEFAULT '',
    read_at         TEXT,
    email           TEXT NOT NULL DEFAULT 'none',
    emailed_at      TEXT,
    created_at      TEXT NOT NULL,
    UNIQUE (event_id, user_id, kind)
);
CREATE INDEX notifications_inbox ON notifications (organization_id, user_id, id DESC);
CREATE INDEX notifications_unread ON notifications (organization_id, user_id) WHERE read_at IS NULL;
CREATE INDEX notifications_digest ON notifications (user_id, created_at) WHERE email = 'digest' AND emailed_at IS NULL;

CREATE TABLE notification_preferences (
    user_id BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind    TEXT NOT NULL,
    in_app  INTEGER NOT NULL,
    email   TEXT NOT NULL,
    PRIMARY KEY (user_id, kind)
);

ALTER TABLE tasks ADD COLUMN remind_at TEXT;
ALTER TABLE tasks ADD COLUMN reminded_at TEXT;
CREATE INDEX tasks_reminders ON tasks (remind_at) WHERE remind_at IS NOT NULL AND reminded_at IS NULL;
