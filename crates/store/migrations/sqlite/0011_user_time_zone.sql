-- A person's own time zone (an IANA name): their reminders are entered in it and their daily
-- notification email arrives at 8:00 in it. Absent, each organization's time zone applies.
ALTER TABLE users ADD COLUMN time_zone TEXT;
