-- name: tenant
-- The account information a request or a snapshot needs.
SELECT id, company_name, postal_address, contact, time_zone FROM tenants WHERE id = $1;

-- name: lock_tenant
-- Changes of a tenant's settings or of its users run one at a time: a read-modify-write
-- never loses a concurrent edit, and two admins cannot demote each other at once.
SELECT id, company_name, postal_address, contact, time_zone FROM tenants WHERE id = $1
FOR UPDATE;

-- name: insert_tenant
INSERT INTO tenants (id, company_name, postal_address, contact, time_zone)
VALUES ($1, $2, $3, $4, $5);

-- name: update_tenant
UPDATE tenants SET company_name = $2, postal_address = $3, contact = $4, time_zone = $5
WHERE id = $1;

-- name: users
-- The tenant's staff: possible senders, owners and notification targets.
SELECT id, tenant_id, name, email, signature, role FROM users
WHERE tenant_id = $1 ORDER BY created_at, id;

-- name: user
SELECT id, tenant_id, name, email, signature, role FROM users WHERE tenant_id = $1 AND id = $2;

-- name: user_by_email
-- Addresses are unique per tenant regardless of case.
SELECT id, tenant_id, name, email, signature, role FROM users
WHERE tenant_id = $1 AND lower(email) = lower($2);

-- name: save_user
INSERT INTO users (id, tenant_id, name, email, signature, role) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (id) DO UPDATE
SET name = EXCLUDED.name, email = EXCLUDED.email, signature = EXCLUDED.signature,
    role = EXCLUDED.role;

-- name: insert_key
-- Only the SHA-256 of the secret is kept; the plaintext is shown once.
INSERT INTO api_keys (key_id, secret_hash, tenant_id, user_id) VALUES ($1, $2, $3, $4);

-- name: revoke_key
UPDATE api_keys SET revoked_at = coalesce(revoked_at, now())
WHERE tenant_id = $1 AND key_id = $2
RETURNING user_id;

-- name: verify_key
-- Who a presented key belongs to; revoked and expired keys verify as nobody.
SELECT k.secret_hash, k.tenant_id, k.user_id, u.role
FROM api_keys k JOIN users u ON u.id = k.user_id
WHERE k.key_id = $1 AND k.revoked_at IS NULL
  AND (k.expires_at IS NULL OR k.expires_at > now());

-- name: senders
SELECT id, tenant_id, name, email, created_by FROM registered_senders
WHERE tenant_id = $1 ORDER BY created_at, id;

-- name: sender
SELECT id, tenant_id, name, email, created_by FROM registered_senders
WHERE tenant_id = $1 AND id = $2;

-- name: insert_sender
INSERT INTO registered_senders (id, tenant_id, name, email, created_by) VALUES ($1, $2, $3, $4, $5);

-- name: delete_sender
DELETE FROM registered_senders WHERE tenant_id = $1 AND id = $2;

-- name: campaign
-- A plain read (GET): no lock, so that it never waits behind a release.
SELECT * FROM campaigns WHERE tenant_id = $1 AND id = $2;

-- name: lock_campaign
-- Every state change reads the row under its lock: a cancel and a release of the same
-- campaign thus run one after the other, and the second finds the state already changed.
SELECT * FROM campaigns WHERE tenant_id = $1 AND id = $2 FOR UPDATE;

-- name: due_campaigns
-- SKIP LOCKED: a row another releaser (or a cancel) holds is not waited for but skipped; if
-- the cancel commits, the row is no longer scheduled; if it fails, the next pass takes it.
SELECT * FROM campaigns
WHERE state = 'scheduled' AND scheduled_for <= $1
ORDER BY scheduled_for
LIMIT $2
FOR UPDATE SKIP LOCKED;

-- name: save_campaign
INSERT INTO campaigns (
    id, tenant_id, state, content, merge_fields, footer_disabled_by, footer_disabled_at,
    created_by, created_at, updated_by, updated_at, scheduled_for, scheduled_by,
    released_at, completed_at, cancelled_by, cancelled_at, last_error
) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18)
ON CONFLICT (id) DO UPDATE SET
    state = EXCLUDED.state, content = EXCLUDED.content, merge_fields = EXCLUDED.merge_fields,
    footer_disabled_by = EXCLUDED.footer_disabled_by,
    footer_disabled_at = EXCLUDED.footer_disabled_at,
    updated_by = EXCLUDED.updated_by, updated_at = EXCLUDED.updated_at,
    scheduled_for = EXCLUDED.scheduled_for, scheduled_by = EXCLUDED.scheduled_by,
    released_at = EXCLUDED.released_at, completed_at = EXCLUDED.completed_at,
    cancelled_by = EXCLUDED.cancelled_by, cancelled_at = EXCLUDED.cancelled_at,
    last_error = EXCLUDED.last_error
WHERE campaigns.tenant_id = EXCLUDED.tenant_id;

-- name: delete_campaign
DELETE FROM campaigns WHERE tenant_id = $1 AND id = $2;

-- name: list_scheduled
-- The schedule view: next due first. Bodies and recipient lists are left out of listings.
SELECT id, tenant_id, state, content - ARRAY['html_body', 'text_body', 'recipients'] AS content,
       merge_fields, footer_disabled_by, footer_disabled_at, created_by, created_at, updated_by,
       updated_at, scheduled_for, scheduled_by, released_at, completed_at, cancelled_by,
       cancelled_at, last_error
FROM campaigns
WHERE tenant_id = $1 AND state = 'scheduled'
  AND ($3::timestamptz IS NULL OR (scheduled_for, id) > ($3, $4::uuid))
ORDER BY scheduled_for, id
LIMIT $2;

-- name: list_folder
-- Drafts, sending and sent: most recently changed first (keyset on updated_at, id).
SELECT id, tenant_id, state, content - ARRAY['html_body', 'text_body', 'recipients'] AS content,
       merge_fields, footer_disabled_by, footer_disabled_at, created_by, created_at, updated_by,
       updated_at, scheduled_for, scheduled_by, released_at, completed_at, cancelled_by,
       cancelled_at, last_error
FROM campaigns
WHERE tenant_id = $1 AND state = $5
  AND ($3::timestamptz IS NULL OR (updated_at, id) < ($3, $4::uuid))
ORDER BY updated_at DESC, id DESC
LIMIT $2;

-- name: progress
SELECT * FROM campaign_progress WHERE tenant_id = $1 AND campaign_id = $2;

-- name: lock_progress
SELECT * FROM campaign_progress WHERE tenant_id = $1 AND campaign_id = $2 FOR UPDATE;

-- name: save_progress
INSERT INTO campaign_progress (
    campaign_id, tenant_id, audience_total, excluded, delivery_total, sent, bounced,
    soft_bounced, failed, unknown, suppressed, delivery_at, completed, deferred,
    delivery_sequence
) VALUES ($1, $2, $3, $4::jsonb, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
ON CONFLICT (campaign_id) DO UPDATE SET
    audience_total = EXCLUDED.audience_total, excluded = EXCLUDED.excluded,
    delivery_total = EXCLUDED.delivery_total, sent = EXCLUDED.sent,
    bounced = EXCLUDED.bounced, soft_bounced = EXCLUDED.soft_bounced,
    failed = EXCLUDED.failed, unknown = EXCLUDED.unknown, suppressed = EXCLUDED.suppressed,
    delivery_at = EXCLUDED.delivery_at, completed = EXCLUDED.completed,
    deferred = EXCLUDED.deferred, delivery_sequence = EXCLUDED.delivery_sequence
WHERE campaign_progress.tenant_id = EXCLUDED.tenant_id;

-- name: add_hits
-- Increments in place, so that concurrent opens and clicks never lose a count.
UPDATE campaign_progress
SET opens = opens + $3, clicks = clicks + $4,
    machine_opens = machine_opens + $5, machine_clicks = machine_clicks + $6
WHERE tenant_id = $1 AND campaign_id = $2;

-- name: first_seen
-- Consumers are at-least-once: an event id seen before means a redelivery, to be ignored.
INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING event_id;

-- name: prune_processed
-- Redeliveries come within minutes; the ids of old events need not be kept forever.
DELETE FROM processed_events WHERE processed_at < now() - make_interval(days => $1);
