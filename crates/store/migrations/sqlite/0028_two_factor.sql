-- Two-factor authentication (TOTP, RFC 6238). The secret is sealed with the instance key;
-- `totp_pending` holds a secret being enrolled until a code proves the authenticator has it.
-- `totp_last_step` is the last time step accepted, so a code is used once.
ALTER TABLE users ADD COLUMN totp_secret TEXT;
ALTER TABLE users ADD COLUMN totp_pending TEXT;
ALTER TABLE users ADD COLUMN totp_enabled_at TEXT;
ALTER TABLE users ADD COLUMN totp_last_step INTEGER;

-- One-time recovery codes, kept as keyed hashes.
CREATE TABLE recovery_codes (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB NOT NULL UNIQUE,
    created_at TEXT NOT NULL,
    used_at    TEXT
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Browsers a person asked to remember after a second factor: signing in from one asks for the
-- password only, until it expires or two-factor is turned off.
CREATE TABLE trusted_devices (
    id         BLOB PRIMARY KEY NOT NULL,
    user_id    BLOB NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash BLOB NOT NULL UNIQUE,
    user_agent TEXT,
    created_at TEXT NOT NULL,
    expires_at TEXT NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);

-- An organization may require every member to use two-factor authentication.
ALTER TABLE organizations ADD COLUMN two_factor_required INTEGER NOT NULL DEFAULT 0;
