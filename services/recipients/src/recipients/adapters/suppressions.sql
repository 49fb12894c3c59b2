-- Opt-outs per tenant and address (migrations/0003). Every statement is scoped by tenant.

-- Every registration below leaves out an opt-out that an admin lifted after it happened:
-- a late or redelivered event (the service's own Unsubscribed among them) must not undo
-- the lift. One that happens after the lift counts again.

-- name: suppress
-- An address opts out; the first registration stays, so a redelivered event changes
-- nothing. Returns the entry's id when it is new.
INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
SELECT $1, $2, lower($3), $4, $5, $6, $7
WHERE NOT EXISTS (
    SELECT FROM suppression_lifts l
    WHERE l.tenant_id = $1 AND l.address = lower($3) AND l.reason = $4 AND l.lifted_at >= $7
)
ON CONFLICT (tenant_id, address, reason) DO NOTHING
RETURNING id

-- name: suppress_customer
-- The address of a customer opts out (Unsubscribed names the customer, not the address).
INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
SELECT $1, $2, lower(c.email), $4, $5, c.id, $6 FROM customers c
WHERE c.tenant_id = $1 AND c.id = $3
  AND NOT EXISTS (
      SELECT FROM suppression_lifts l
      WHERE l.tenant_id = $1 AND l.address = lower(c.email) AND l.reason = $4
        AND l.lifted_at >= $6
  )
ON CONFLICT (tenant_id, address, reason) DO NOTHING
RETURNING id

-- name: unsubscribe_customer
-- 配信停止 on the customer row. Keeps the first time; returns nothing when the customer was
-- already unsubscribed (or does not exist), so that the caller emits no second event.
UPDATE customers c SET unsubscribed_at = $3, updated_at = now()
WHERE c.tenant_id = $1 AND c.id = $2 AND c.unsubscribed_at IS NULL
  AND NOT EXISTS (
      SELECT FROM suppression_lifts l
      WHERE l.tenant_id = $1 AND l.address = lower(c.email) AND l.reason = 'unsubscribed'
        AND l.lifted_at >= $3
  )
RETURNING *

-- name: bounce_customer
-- バウンス登録 of a known customer, while its address is still the one that bounced; keeps
-- the first time.
UPDATE customers c SET bounced_at = $4, updated_at = now()
WHERE c.tenant_id = $1 AND c.id = $2 AND lower(c.email) = lower($3) AND c.bounced_at IS NULL
  AND NOT EXISTS (
      SELECT FROM suppression_lifts l
      WHERE l.tenant_id = $1 AND l.address = lower($3) AND l.reason = 'bounced'
        AND l.lifted_at >= $4
  )
RETURNING id

-- name: bounce_address
-- バウンス登録 from a DSN, which knows the address but not the customer.
UPDATE customers c SET bounced_at = $3, updated_at = now()
WHERE c.tenant_id = $1 AND lower(c.email) = lower($2) AND c.bounced_at IS NULL
  AND NOT EXISTS (
      SELECT FROM suppression_lifts l
      WHERE l.tenant_id = $1 AND l.address = lower($2) AND l.reason = 'bounced'
        AND l.lifted_at >= $3
  )
RETURNING id

-- name: list_suppressions
-- A page in id order (keyset), optionally of one reason ($3) or one address ($4).
SELECT * FROM suppressions
WHERE tenant_id = $1 AND id > $2
  AND ($3::text IS NULL OR reason = $3) AND ($4::text IS NULL OR address = lower($4))
ORDER BY id LIMIT $5

-- name: lift
-- An admin lifts an opt-out: the entry goes, the customer with that address shows it no
-- more, and the lift is recorded with who, when and why. Nothing when there is no entry.
WITH lifted AS (
    DELETE FROM suppressions WHERE tenant_id = $1 AND id = $2 RETURNING *
), cleared AS (
    UPDATE customers c
    SET unsubscribed_at = CASE WHEN l.reason = 'unsubscribed' THEN NULL ELSE c.unsubscribed_at END,
        bounced_at = CASE WHEN l.reason = 'bounced' THEN NULL ELSE c.bounced_at END,
        updated_at = now()
    FROM lifted l
    WHERE c.tenant_id = $1 AND lower(c.email) = l.address
      AND l.reason IN ('unsubscribed', 'bounced')
)
INSERT INTO suppression_lifts (tenant_id, id, suppression_id, address, reason, source,
                               customer_id, suppressed_at, lifted_at, lifted_by, note)
SELECT tenant_id, $3, id, address, reason, source, customer_id, created_at, $4, $5, $6
FROM lifted
RETURNING *

-- name: list_lifts
-- A page of lifted entries in id order (keyset).
SELECT * FROM suppression_lifts WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3
