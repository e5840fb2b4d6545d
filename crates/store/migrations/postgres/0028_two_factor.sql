-- Two-factor authentication (TOTP, RFC 6238). The secret is sealed with the instance key;
-- `totp_pending` holds a secret being enrolled until a code proves the authenticator has it.
-- `totp_last_step` is the last time step accepted, so a code is used once. Platform data: the
-- tenant role reads none of it.
ALTER TABLE users ADD COLUMN totp_secret text;
ALTER TABLE users ADD COLUMN totp_pending text;
ALTER TABLE users ADD COLUMN totp_enabled_at timestamptz;
ALTER TABLE users ADD COLUMN totp_last_step bigint;

-- One-time recovery codes, kept as keyed hashes.
CREATE TABLE recovery_codes (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    used_at    timestamptz
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- Browsers a person asked to remember after a second factor: signing in from one asks for the
-- password only, until it expires or two-factor is turned off.
CREATE TABLE trusted_devices (
    id         uuid PRIMARY KEY,
    user_id    uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    user_agent text,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL
);
CREATE INDEX trusted_devices_user ON trusted_devices (user_id);

-- An organization may require every member to use two-factor authentication.
ALTER TABLE organizations ADD COLUMN two_factor_required boolean NOT NULL DEFAULT false;
