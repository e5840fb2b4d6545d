-- When each person last signed in (a password accepted, for a browser session or API tokens):
-- shown to the organizations they belong to, beside their membership.
ALTER TABLE users ADD COLUMN last_sign_in_at TEXT;
