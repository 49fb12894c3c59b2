-- name: claim
-- Records messages about to go on the wire as `sending` (`failed` when they could not be
-- rendered; `suppressed` when the customer became suppressed after resolution). A message
-- the ledger already knows is left alone and not returned: it is never sent twice.
WITH input AS (
    SELECT *
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                $6::timestamptz[], $7::text[], $8::text[])
        AS t(message_id, campaign_id, tenant_id, customer_id, email, resolved_at, state, reason)
), decided AS (
    SELECT i.message_id, i.campaign_id, i.tenant_id, i.reason,
           CASE WHEN EXISTS (SELECT 1 FROM suppressed_customers s
                             WHERE s.tenant_id = i.tenant_id AND s.customer_id = i.customer_id
                               AND s.suppressed_at > i.resolved_at)
                  OR EXISTS (SELECT 1 FROM suppressed_addresses s
                             WHERE s.tenant_id = i.tenant_id AND s.email = lower(i.email)
                               AND s.suppressed_at > i.resolved_at)
                THEN 'suppressed' ELSE i.state END AS state
    FROM input i
), inserted AS (
    INSERT INTO ledger (message_id, campaign_id, tenant_id, state, owner, attempts, reply_text)
    SELECT message_id, campaign_id, tenant_id, state, $9,
           CASE WHEN state = 'sending' THEN 1 ELSE 0 END, reason
    FROM decided
    ON CONFLICT (message_id) DO NOTHING
    RETURNING message_id, campaign_id, state
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM inserted)
)
SELECT message_id, state FROM inserted;

-- name: existing
-- What the ledger says about messages it already knew when they came back (redelivery).
SELECT message_id, state, reply_code, reply_text, owner
FROM ledger
WHERE message_id = ANY($1::uuid[]);

-- name: finish
-- Outcome of one SMTP attempt per message; only rows this process still holds in `sending`
-- change (a row swept to `unknown` meanwhile stays unknown). `event` is kept for retries.
WITH finished AS (
    UPDATE ledger AS l
    SET state = f.state,
        reply_code = f.code,
        reply_text = f.text,
        next_attempt_at = CASE WHEN f.delay IS NULL THEN NULL
                               ELSE now() + f.delay * interval '1 second' END,
        event = f.event,
        updated_at = now()
    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::bytea[])
        AS f(message_id, state, code, text, delay, event)
    WHERE l.message_id = f.message_id AND l.state = 'sending' AND l.owner = $7
    RETURNING l.message_id, l.campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM finished)
)
SELECT message_id FROM finished;

-- name: take_due_retries
-- Retries whose time has come move to `sending` under this process; SKIP LOCKED lets
-- several processes share the work without waiting on each other.
WITH taken AS (
    UPDATE ledger AS l
    SET state = 'sending', owner = $1, attempts = l.attempts + 1, updated_at = now()
    FROM (SELECT message_id FROM ledger
          WHERE state = 'retry' AND next_attempt_at <= now()
          ORDER BY next_attempt_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED) AS due
    WHERE l.message_id = due.message_id
    RETURNING l.message_id, l.campaign_id, l.attempts, l.event
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM taken)
)
SELECT message_id, attempts, event FROM taken;

-- name: sweep_dead_in_flight
-- A message left in `sending` by a process that stopped beating may have been accepted:
-- it becomes `unknown` and is never resent automatically.
WITH swept AS (
    UPDATE ledger AS l
    SET state = 'unknown', reply_text = 'in flight when its process died', updated_at = now()
    WHERE l.state = 'sending'
      AND NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.instance_id = l.owner
                        AND i.heartbeat_at > now() - make_interval(secs => $1))
    RETURNING l.campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM swept)
)
SELECT DISTINCT campaign_id FROM swept;

-- name: heartbeat
-- This process is alive; its in-flight messages are its own business.
INSERT INTO instances (instance_id) VALUES ($1)
ON CONFLICT (instance_id) DO UPDATE SET heartbeat_at = now();

-- name: forget_instance
-- A clean stop: nothing of this process is in flight any more.
DELETE FROM instances WHERE instance_id = $1;

-- name: prune_instances
-- Rows of processes long gone; their in-flight messages were swept long ago.
DELETE FROM instances WHERE heartbeat_at < now() - interval '1 day';

-- name: store_campaigns
-- Campaign snapshots met on the recipient stream, each ahead of its recipients on every
-- partition; the first copy stays (a snapshot is immutable), later ones change nothing.
INSERT INTO campaigns (campaign_id, tenant_id, snapshot)
SELECT * FROM unnest($1::uuid[], $2::uuid[], $3::bytea[])
ON CONFLICT (campaign_id) DO NOTHING;

-- name: load_campaigns
-- Snapshots for a process that has not compiled these campaigns yet.
SELECT campaign_id, snapshot FROM campaigns
WHERE campaign_id = ANY($1::uuid[]) AND snapshot IS NOT NULL;

-- name: unreported_campaigns
-- Campaigns whose ledger changed since their last progress report (by any process).
SELECT campaign_id FROM campaigns WHERE changed_seq > reported_seq LIMIT $1;

-- name: progress_counts
-- Counters of one campaign per state and the sequence they belong to, in one statement
-- (one snapshot of the database: the counts are exactly those of that sequence).
SELECT c.tenant_id, c.changed_seq, l.state, count(l.message_id) AS n
FROM campaigns c LEFT JOIN ledger l ON l.campaign_id = c.campaign_id
WHERE c.campaign_id = $1
GROUP BY c.tenant_id, c.changed_seq, l.state;

-- name: mark_reported
-- The snapshot of sequence $2 is in Kafka; a later change is reported again.
UPDATE campaigns SET reported_seq = GREATEST(reported_seq, $2), updated_at = now()
WHERE campaign_id = $1;

-- name: suppress_address
-- A hard bounce: later mail to this address is dropped (if resolved before this moment).
INSERT INTO suppressed_addresses (tenant_id, email, suppressed_at) VALUES ($1, lower($2), $3)
ON CONFLICT (tenant_id, email) DO UPDATE
SET suppressed_at = GREATEST(suppressed_addresses.suppressed_at, EXCLUDED.suppressed_at);

-- name: suppress_customer
-- An unsubscribe: later mail to this customer is dropped (if resolved before this moment).
INSERT INTO suppressed_customers (tenant_id, customer_id, suppressed_at) VALUES ($1, $2, $3)
ON CONFLICT (tenant_id, customer_id) DO UPDATE
SET suppressed_at = GREATEST(suppressed_customers.suppressed_at, EXCLUDED.suppressed_at);
