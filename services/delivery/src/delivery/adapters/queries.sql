-- name: claim
-- Records messages about to go on the wire as `sending` (`failed` when they could not be
-- rendered; `retry` when their destination cannot take them soon; `suppressed` when the
-- customer became suppressed after resolution), with the address, the customer and the
-- payload, so that any process can send the message again and reports can be checked. A
-- message the ledger already knows is left alone and not returned: it is never sent twice.
WITH input AS (
    SELECT *
    FROM unnest($1::uuid[], $2::uuid[], $3::uuid[], $4::uuid[], $5::text[],
                $6::timestamptz[], $7::text[], $8::text[], $9::bytea[], $10::float8[])
        AS t(message_id, campaign_id, tenant_id, customer_id, email, resolved_at, state, reason,
             event, delay)
), decided AS (
    SELECT i.message_id, i.campaign_id, i.tenant_id, i.customer_id, i.email, i.reason,
           i.event, i.delay,
           CASE WHEN EXISTS (SELECT 1 FROM suppressed_customers s
                             WHERE s.tenant_id = i.tenant_id AND s.customer_id = i.customer_id
                               AND s.suppressed_at > i.resolved_at)
                  OR EXISTS (SELECT 1 FROM suppressed_addresses s
                             WHERE s.tenant_id = i.tenant_id AND s.email = lower(i.email)
                               AND s.suppressed_at > i.resolved_at)
                THEN 'suppressed' ELSE i.state END AS state
    FROM input i
), inserted AS (
    INSERT INTO ledger (message_id, campaign_id, tenant_id, customer_id, email, state, owner,
                        attempts, reply_text, event, next_attempt_at)
    SELECT message_id, campaign_id, tenant_id, customer_id, email, state, $11,
           CASE WHEN state = 'sending' THEN 1 ELSE 0 END, reason,
           CASE WHEN state IN ('sending', 'retry') THEN event END,
           CASE WHEN state = 'retry' THEN now() + delay * interval '1 second' END
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
-- change (a row swept meanwhile stays as the sweep left it). The payload stays while the
-- message may be sent again (`retry`, `unknown`); `refund` gives the attempt back to a
-- message that only waited for its destination.
WITH finished AS (
    UPDATE ledger AS l
    SET state = f.state,
        reply_code = f.code,
        reply_text = f.text,
        next_attempt_at = CASE WHEN f.delay IS NULL THEN NULL
                               ELSE now() + f.delay * interval '1 second' END,
        attempts = l.attempts - CASE WHEN f.refund THEN 1 ELSE 0 END,
        event = CASE WHEN f.state IN ('retry', 'unknown') THEN coalesce(f.event, l.event) END,
        updated_at = now()
    FROM unnest($1::uuid[], $2::text[], $3::int[], $4::text[], $5::float8[], $6::bytea[],
                $7::bool[])
        AS f(message_id, state, code, text, delay, event, refund)
    WHERE l.message_id = f.message_id AND l.state = 'sending' AND l.owner = $8
    RETURNING l.message_id, l.campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM finished)
)
SELECT message_id FROM finished;

-- name: mark_data
-- The DATA marker of a group of messages whose content goes on the wire next. Only rows
-- this process still holds in `sending` are marked, and only those may be written: a row
-- swept away from a process presumed dead is never written by it.
UPDATE ledger SET data_at = now()
WHERE message_id = ANY($1::uuid[]) AND state = 'sending' AND owner = $2
RETURNING message_id;

-- name: take_due_retries
-- Retries whose time has come move to `sending` under this process, their DATA marker
-- cleared; SKIP LOCKED lets several processes share the work without waiting on each other.
WITH taken AS (
    UPDATE ledger AS l
    SET state = 'sending', owner = $1, attempts = l.attempts + 1, data_at = NULL,
        updated_at = now()
    FROM (SELECT message_id FROM ledger
          WHERE state = 'retry' AND next_attempt_at <= now()
          ORDER BY next_attempt_at
          LIMIT $2
          FOR UPDATE SKIP LOCKED) AS due
    WHERE l.message_id = due.message_id
    RETURNING l.message_id, l.campaign_id, l.attempts, l.event,
              extract(epoch FROM l.queued_at)::float8 AS since
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM taken)
)
SELECT message_id, attempts, event, since FROM taken;

-- name: sweep_dead_in_flight
-- `sending` rows of a process that stopped beating. One whose content may have gone out
-- (the DATA marker is set) may have been accepted: it becomes `unknown`, resent only at an
-- operator's word. One that never reached DATA is due again at once, its attempt given
-- back. (Rows claimed before the payload was kept cannot be resent: unknown.)
WITH dead AS (
    SELECT message_id FROM ledger l
    WHERE l.state = 'sending'
      AND NOT EXISTS (SELECT 1 FROM instances i
                      WHERE i.instance_id = l.owner
                        AND i.heartbeat_at > now() - make_interval(secs => $1))
    FOR UPDATE SKIP LOCKED
), swept AS (
    UPDATE ledger AS l
    SET state = CASE WHEN l.data_at IS NULL AND l.event IS NOT NULL THEN 'retry'
                     ELSE 'unknown' END,
        next_attempt_at = CASE WHEN l.data_at IS NULL AND l.event IS NOT NULL THEN now() END,
        attempts = CASE WHEN l.data_at IS NULL AND l.event IS NOT NULL
                        THEN greatest(l.attempts - 1, 0) ELSE l.attempts END,
        reply_text = CASE WHEN l.data_at IS NULL AND l.event IS NOT NULL
                          THEN 'not yet in DATA when its process died; sent again'
                          ELSE 'in DATA when its process died' END,
        updated_at = now()
    FROM dead
    WHERE l.message_id = dead.message_id
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

-- name: delivered
-- What a report about a message is checked against: the address it went to, its customer.
SELECT tenant_id, campaign_id, customer_id, email, state FROM ledger WHERE message_id = $1;

-- name: settle
-- A report changes a message's outcome (sent -> bounced or complained), once: only from
-- the states given, so a second copy of the report changes nothing.
WITH settled AS (
    UPDATE ledger SET state = $3, reply_text = $4, updated_at = now()
    WHERE message_id = $1 AND state = ANY($2::text[])
    RETURNING campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT campaign_id FROM settled)
)
SELECT campaign_id FROM settled;

-- name: first_time
-- Events handled once (an operator's resolution replayed must not act twice).
INSERT INTO processed_events (event_id) VALUES ($1) ON CONFLICT DO NOTHING RETURNING event_id;

-- name: resend_unknown
-- The operator accepts a possible duplicate: a campaign's unknown messages are due again
-- (the horizon restarts); one whose payload was not kept cannot be, and fails.
WITH resent AS (
    UPDATE ledger
    SET state = CASE WHEN event IS NULL THEN 'failed' ELSE 'retry' END,
        next_attempt_at = CASE WHEN event IS NULL THEN NULL ELSE now() END,
        queued_at = now(), data_at = NULL, updated_at = now(),
        reply_text = CASE WHEN event IS NULL
                          THEN 'unknown outcome; cannot be resent, its payload was not kept'
                          ELSE 'unknown outcome; resent at the operator''s request' END
    WHERE campaign_id = $1 AND tenant_id = $2 AND state = 'unknown'
    RETURNING campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM resent)
)
SELECT count(*) AS n FROM resent;

-- name: give_up_unknown
-- The operator gives a campaign's unknown messages up: they are final as failed.
WITH given_up AS (
    UPDATE ledger
    SET state = 'failed', event = NULL, updated_at = now(),
        reply_text = 'unknown outcome; given up at the operator''s request'
    WHERE campaign_id = $1 AND tenant_id = $2 AND state = 'unknown'
    RETURNING campaign_id
), touched AS (
    UPDATE campaigns SET changed_seq = changed_seq + 1
    WHERE campaign_id IN (SELECT DISTINCT campaign_id FROM given_up)
)
SELECT count(*) AS n FROM given_up;
