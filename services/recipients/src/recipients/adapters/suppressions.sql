-- Opt-outs per tenant and address (migrations/0003). Every statement is scoped by tenant.

-- name: suppress
-- An address opts out; the first registration stays, so a redelivered event changes
-- nothing. Returns the entry's id when it is new.
INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
VALUES ($1, $2, lower($3), $4, $5, $6, $7)
ON CONFLICT (tenant_id, address, reason) DO NOTHING
RETURNING id

-- name: suppress_customer
-- The address of a customer opts out (Unsubscribed names the customer, not the address).
INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
SELECT $1, $2, lower(email), $4, $5, id, $6 FROM customers WHERE tenant_id = $1 AND id = $3
ON CONFLICT (tenant_id, address, reason) DO NOTHING
RETURNING id

-- name: unsubscribe_customer
-- 配信停止 on the customer row. Keeps the first time; returns nothing when the customer was
-- already unsubscribed (or does not exist), so that the caller emits no second event.
UPDATE customers SET unsubscribed_at = $3, updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND unsubscribed_at IS NULL
RETURNING *

-- name: bounce_customer
-- バウンス登録 of a known customer, while its address is still the one that bounced; keeps
-- the first time.
UPDATE customers SET bounced_at = $4, updated_at = now()
WHERE tenant_id = $1 AND id = $2 AND lower(email) = lower($3) AND bounced_at IS NULL
RETURNING id

-- name: bounce_address
-- バウンス登録 from a DSN, which knows the address but not the customer.
UPDATE customers SET bounced_at = $3, updated_at = now()
WHERE tenant_id = $1 AND lower(email) = lower($2) AND bounced_at IS NULL
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
