-- name: accounts
-- Sign-in: every account of an address, in any tenant (addresses are unique per tenant).
SELECT u.id, u.tenant_id, u.name, u.email, u.signature, u.role, u.password_hash,
       t.company_name
FROM users u JOIN tenants t ON t.id = u.tenant_id
WHERE lower(u.email) = lower($1)
ORDER BY t.company_name, u.tenant_id;

-- name: account
SELECT u.id, u.tenant_id, u.name, u.email, u.signature, u.role, u.password_hash,
       t.company_name
FROM users u JOIN tenants t ON t.id = u.tenant_id
WHERE u.tenant_id = $1 AND u.id = $2;

-- name: set_password
UPDATE users SET password_hash = $3, password_changed_at = now()
WHERE tenant_id = $1 AND id = $2;

-- name: failures
-- Failures of the current window only; an older window no longer counts.
SELECT failures FROM login_failures WHERE address = $1 AND window_start > $2;

-- name: record_failure
-- A fixed window per address: the first failure after the window starts a new one.
INSERT INTO login_failures AS f (address, failures, window_start) VALUES ($1, 1, $2)
ON CONFLICT (address) DO UPDATE SET
    failures = CASE WHEN f.window_start <= $2 - $3::interval THEN 1 ELSE f.failures + 1 END,
    window_start = CASE WHEN f.window_start <= $2 - $3::interval THEN $2 ELSE f.window_start END;

-- name: clear_failures
DELETE FROM login_failures WHERE address = $1;

-- name: prune_failures
-- Windows long over say nothing any more.
DELETE FROM login_failures WHERE window_start < $1;

-- name: insert_session
-- A session key is an API key that expires; only the SHA-256 of its secret is kept.
INSERT INTO api_keys (key_id, secret_hash, tenant_id, user_id, kind, expires_at)
VALUES ($1, $2, $3, $4, 'session', $5);

-- name: revoke_session
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE key_id = $1 AND kind = 'session';

-- name: revoke_sessions
-- A password reset signs the user out everywhere.
UPDATE api_keys SET revoked_at = now()
WHERE tenant_id = $1 AND user_id = $2 AND kind = 'session' AND revoked_at IS NULL;
