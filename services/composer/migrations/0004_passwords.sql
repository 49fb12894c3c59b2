-- Sign-in with a password. A successful sign-in issues a session key: an API key like any
-- other (so every service verifies it the same way) that expires and is revoked at sign-out.
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_hash text;
ALTER TABLE users ADD COLUMN IF NOT EXISTS password_changed_at timestamptz;

ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS kind text NOT NULL DEFAULT 'api'
    CHECK (kind IN ('api', 'session'));
ALTER TABLE api_keys ADD COLUMN IF NOT EXISTS expires_at timestamptz;

-- Sign-in looks an address up across tenants (an address is unique per tenant only).
CREATE INDEX IF NOT EXISTS users_email ON users (lower(email));

-- Failed sign-ins per address in a fixed window, here so that every composer instance
-- counts the same attempts.
CREATE TABLE IF NOT EXISTS login_failures (
    address      text PRIMARY KEY,
    failures     integer     NOT NULL,
    window_start timestamptz NOT NULL
);
