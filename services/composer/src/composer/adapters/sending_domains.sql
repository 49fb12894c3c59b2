-- name: sending_domains
-- A tenant's domains, oldest first (the first is the one bootstrap registered).
SELECT * FROM sending_domains WHERE tenant_id = $1 ORDER BY created_at, domain;

-- name: lock_sending_domain
-- Verify, rotate and remove read the row under its lock, so that a rotation and a check
-- finishing at the same time do not lose each other's keys.
SELECT * FROM sending_domains WHERE tenant_id = $1 AND id = $2 FOR UPDATE;

-- name: dkim_keys
-- The keys of the given domains, in the order they were made.
SELECT * FROM dkim_keys WHERE domain_id = ANY($1::uuid[]) ORDER BY created_at, selector;

-- name: save_sending_domain
INSERT INTO sending_domains (
    id, tenant_id, domain, status, ed25519, created_at, verified_at, checked_at, findings
) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb)
ON CONFLICT (id) DO UPDATE SET
    status = EXCLUDED.status, verified_at = EXCLUDED.verified_at,
    checked_at = EXCLUDED.checked_at, findings = EXCLUDED.findings
WHERE sending_domains.tenant_id = EXCLUDED.tenant_id;

-- name: drop_other_keys
-- Keys removed or replaced since the domain was read.
DELETE FROM dkim_keys WHERE domain_id = $1 AND NOT (selector = ANY($2::text[]));

-- name: save_dkim_key
-- Only the state of a key ever changes; its material is written once.
INSERT INTO dkim_keys (domain_id, selector, algorithm, state, public_record, private_key, created_at)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (domain_id, selector) DO UPDATE SET state = EXCLUDED.state;

-- name: delete_sending_domain
DELETE FROM sending_domains WHERE tenant_id = $1 AND id = $2;
