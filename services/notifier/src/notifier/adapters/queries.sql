-- name: campaigns_by_id
-- Timings, zone and subject of the campaigns a batch of hits belongs to.
SELECT campaign_id, tenant_id, name, subject, first_open_timing, reopen_timing, click_timing,
       time_zone, released_at
FROM campaigns WHERE campaign_id = ANY($1::uuid[])

-- name: last_opens
-- Durable last open of messages Redis does not know (first open, expiry, Redis restart).
SELECT message_id, last_open_at FROM messages
WHERE message_id = ANY($1::uuid[]) AND last_open_at IS NOT NULL

-- name: insert_hits
-- Records a batch of hits; an event id seen before is skipped, so redelivery is harmless.
INSERT INTO hits (event_id, tenant_id, campaign_id, message_id, customer_id, user_id, kind,
                  url, occurred_at, status, timing, period_start, period_end)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[],
                     $7::text[], $8::text[], $9::timestamptz[], $10::text[], $11::text[],
                     $12::timestamptz[], $13::timestamptz[])
ON CONFLICT (event_id) DO NOTHING
RETURNING event_id

-- name: known_hits
-- Stored hits among these ids: a redelivered notified hit must not be counted again.
SELECT event_id FROM hits WHERE event_id = ANY($1::uuid[])

-- name: upsert_last_opens
-- Keeps each message's latest open; rows come sorted by message id so that concurrent
-- writers lock them in the same order.
INSERT INTO messages (message_id, tenant_id, campaign_id, customer_id, last_open_at)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::timestamptz[])
ON CONFLICT (message_id) DO UPDATE
SET last_open_at = GREATEST(messages.last_open_at, EXCLUDED.last_open_at)

-- name: add_counters
-- Running totals for the stats endpoint, in the transaction that records the hits.
INSERT INTO counters (tenant_id, name, value)
SELECT * FROM unnest($1::uuid[], $2::text[], $3::bigint[])
ON CONFLICT (tenant_id, name) DO UPDATE SET value = counters.value + EXCLUDED.value

-- name: save_campaign
-- A campaign snapshot; a replayed older snapshot does not overwrite a newer one.
INSERT INTO campaigns (campaign_id, tenant_id, name, subject, first_open_timing, reopen_timing,
                       click_timing, time_zone, released_at)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
ON CONFLICT (campaign_id) DO UPDATE
SET name = EXCLUDED.name, subject = EXCLUDED.subject,
    first_open_timing = EXCLUDED.first_open_timing, reopen_timing = EXCLUDED.reopen_timing,
    click_timing = EXCLUDED.click_timing, time_zone = EXCLUDED.time_zone,
    released_at = EXCLUDED.released_at
WHERE campaigns.released_at <= EXCLUDED.released_at

-- name: save_staff
-- Staff directory from campaign snapshots: the newest snapshot's name and address win.
INSERT INTO staff (tenant_id, user_id, name, email, as_of)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::text[], $4::text[], $5::timestamptz[])
ON CONFLICT (tenant_id, user_id) DO UPDATE
SET name = EXCLUDED.name, email = EXCLUDED.email, as_of = EXCLUDED.as_of
WHERE staff.as_of <= EXCLUDED.as_of

-- name: save_messages
-- Message directory from MessageSent; keeps a last open recorded before the MessageSent.
INSERT INTO messages (message_id, tenant_id, campaign_id, customer_id, email, name)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[], $6::text[])
ON CONFLICT (message_id) DO UPDATE SET email = EXCLUDED.email, name = EXCLUDED.name

-- name: awaiting_hits
-- Hits that came before their campaign's settings, whose campaign is known now.
SELECT h.event_id, h.kind, h.occurred_at, h.period_end, c.campaign_id, c.tenant_id, c.name,
       c.subject, c.first_open_timing, c.reopen_timing, c.click_timing, c.time_zone,
       c.released_at
FROM hits h JOIN campaigns c ON c.campaign_id = h.campaign_id
WHERE h.status = 'awaiting'
LIMIT $1

-- name: reschedule
-- Gives hits their (new) timing and period; timing none drops them.
UPDATE hits h
SET timing = u.timing, period_start = u.period_start, period_end = u.period_end,
    status = CASE WHEN u.timing = 'none' THEN 'dropped' ELSE 'pending' END
FROM unnest($1::uuid[], $2::text[], $3::timestamptz[], $4::timestamptz[])
     AS u(event_id, timing, period_start, period_end)
WHERE h.event_id = u.event_id AND h.status IN ('awaiting', 'pending')

-- name: claim_lock
-- One claimer at a time across instances; claims are short, so the others just wait.
SELECT pg_advisory_xact_lock(hashtext('notifier:claim-digests'))

-- name: claim_due
-- One digest per user (with a known address) for every hit whose period ended by $1; the
-- digest's boundary is the latest period end among them. The unique (user, boundary) makes a
-- second claim of the same boundary a no-op; its hits are then late (see late_hits).
WITH due AS (
    SELECT h.tenant_id, h.user_id, max(h.period_end) AS boundary,
           min(h.period_start) AS period_start
    FROM hits h
    JOIN staff s ON s.tenant_id = h.tenant_id AND s.user_id = h.user_id
    WHERE h.status = 'pending' AND h.period_end <= $1
      AND ($2::uuid IS NULL OR h.tenant_id = $2::uuid)
    GROUP BY h.tenant_id, h.user_id
), claimed AS (
    INSERT INTO digests (tenant_id, user_id, boundary, period_start)
    SELECT tenant_id, user_id, boundary, period_start FROM due ORDER BY tenant_id, user_id
    ON CONFLICT (tenant_id, user_id, boundary) DO NOTHING
    RETURNING id, tenant_id, user_id
), attached AS (
    UPDATE hits h SET status = 'digested', digest_id = c.id
    FROM claimed c
    WHERE h.tenant_id = c.tenant_id AND h.user_id = c.user_id
      AND h.status = 'pending' AND h.period_end <= $1
    RETURNING h.digest_id
)
SELECT DISTINCT digest_id FROM attached

-- name: late_hits
-- Due hits whose (user, period end) has its digest already: they arrived after it closed.
SELECT h.event_id, h.kind, h.occurred_at, h.period_end, c.campaign_id, c.tenant_id, c.name,
       c.subject, c.first_open_timing, c.reopen_timing, c.click_timing, c.time_zone,
       c.released_at
FROM hits h
JOIN digests d ON d.tenant_id = h.tenant_id AND d.user_id = h.user_id
              AND d.boundary = h.period_end
JOIN campaigns c ON c.campaign_id = h.campaign_id
WHERE h.status = 'pending' AND h.period_end <= $1
  AND ($2::uuid IS NULL OR h.tenant_id = $2::uuid)

-- name: lease
-- Takes unsent digests nobody holds (as many as the caller is about to start); an expired
-- lease means its holder died or hung.
WITH taken AS (
    SELECT id, state FROM digests
    WHERE state IN ('claimed', 'building', 'sending')
      AND (lease_until IS NULL OR lease_until < now())
    ORDER BY id
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
UPDATE digests d
SET state = 'building', lease_owner = $1, lease_until = now() + make_interval(secs => $3),
    attempts = d.attempts + 1
FROM taken
WHERE d.id = taken.id
RETURNING d.id AS digest_id, taken.state AS previous_state, d.attempts

-- name: digest_head
-- The digest and its recipient.
SELECT d.id AS digest_id, d.tenant_id, d.user_id, d.boundary, d.period_start,
       s.name AS recipient_name, s.email AS recipient_email,
       (SELECT array_agg(DISTINCT timing) FROM hits WHERE digest_id = d.id) AS timings
FROM digests d
JOIN staff s ON s.tenant_id = d.tenant_id AND s.user_id = d.user_id
WHERE d.id = $1

-- name: digest_lines
-- Per campaign and kind: the count, and the first $2 lines with who and when.
SELECT x.campaign_id, c.name AS campaign_name, c.subject, c.time_zone, x.kind, x.total,
       x.occurred_at, x.customer_id, x.url, m.email, m.name
FROM (
    SELECT h.*,
           row_number() OVER (PARTITION BY h.campaign_id, h.kind ORDER BY h.occurred_at) AS rn,
           count(*) OVER (PARTITION BY h.campaign_id, h.kind) AS total
    FROM hits h WHERE h.digest_id = $1
) x
JOIN campaigns c ON c.campaign_id = x.campaign_id
LEFT JOIN messages m ON m.message_id = x.message_id
WHERE x.rn <= $2
ORDER BY c.released_at, x.campaign_id, x.kind, x.occurred_at

-- name: mark_sending
-- From here on the SMTP transaction may have happened. Only under a lease that still runs:
-- once it ran out another process may have leased the digest, and both would send it.
UPDATE digests SET state = 'sending', lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND state = 'building' AND lease_until > now()
RETURNING id

-- name: extend_lease
-- Keeps a digest whose mail is being sent from being taken over by another process.
UPDATE digests SET lease_until = now() + make_interval(secs => $3)
WHERE id = $1 AND lease_owner = $2 AND state IN ('building', 'sending')
  AND lease_until > now()
RETURNING id

-- name: mark_sent
UPDATE digests SET state = 'sent', sent_at = now(), lease_until = NULL
WHERE id = $1 AND lease_owner = $2 AND state = 'sending'
RETURNING tenant_id

-- name: release
-- Keeps the state (a `sending` digest may have gone out) and retries after a pause.
UPDATE digests SET lease_until = now() + make_interval(secs => $3), last_error = $4
WHERE id = $1 AND lease_owner = $2

-- name: fail
UPDATE digests SET state = 'failed', lease_until = NULL, last_error = $3
WHERE id = $1 AND lease_owner = $2

-- name: unsent
SELECT id FROM digests WHERE id = ANY($1::bigint[]) AND state NOT IN ('sent', 'failed')

-- name: counters
SELECT name, sum(value)::bigint AS value FROM counters
WHERE $1::uuid IS NULL OR tenant_id = $1::uuid
GROUP BY name

-- name: pending_counts
-- Hits waiting for their period to close, and hits waiting for their campaign's settings.
SELECT count(*) FILTER (WHERE status = 'pending') AS pending,
       count(*) FILTER (WHERE status = 'awaiting') AS awaiting
FROM hits
WHERE status IN ('pending', 'awaiting') AND ($1::uuid IS NULL OR tenant_id = $1::uuid)

-- name: prune_hits
-- Old hits that no open digest needs; kept long enough to drop any redelivered duplicate.
-- A hit still awaiting its campaign after that long belongs to none we will ever hear of.
DELETE FROM hits
WHERE received_at < now() - make_interval(days => $1)
  AND status IN ('dropped', 'digested', 'awaiting')
  AND (digest_id IS NULL
       OR digest_id IN (SELECT id FROM digests WHERE state IN ('sent', 'failed')))
