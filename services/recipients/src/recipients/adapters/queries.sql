-- Every statement is scoped by tenant_id: another tenant's row is as absent as a missing one.

-- name: insert_customer
-- A customer added by staff; the unique index on lower(email) turns a taken address into
-- a unique violation the caller reports as a conflict. An address that opted out before
-- (suppressions) shows so on the new customer.
INSERT INTO customers (tenant_id, id, email, last_name, first_name, company, attributes,
                       owner_user_id, unsubscribed_at, bounced_at)
VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8,
        (SELECT created_at FROM suppressions
         WHERE tenant_id = $1 AND address = lower($3) AND reason = 'unsubscribed'),
        (SELECT created_at FROM suppressions
         WHERE tenant_id = $1 AND address = lower($3) AND reason = 'bounced'))
RETURNING *

-- name: get_customer
-- One customer, with its suppression state.
SELECT * FROM customers WHERE tenant_id = $1 AND id = $2

-- name: lock_customer
-- The row an edit reads and then rewrites, locked so that two edits do not lose each other.
SELECT * FROM customers WHERE tenant_id = $1 AND id = $2 FOR UPDATE

-- name: list_customers
-- A page of customers in id order, after the last id of the previous page (keyset).
SELECT * FROM customers WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3

-- name: find_customer_by_email
-- The customer with this address, whatever its case.
SELECT * FROM customers WHERE tenant_id = $1 AND lower(email) = lower($2)

-- name: list_group_members
-- A page of a group's customers in id order (keyset).
SELECT c.* FROM group_members m
JOIN customers c ON c.tenant_id = m.tenant_id AND c.id = m.customer_id
WHERE m.tenant_id = $1 AND m.group_id = $2 AND m.customer_id > $3
ORDER BY m.customer_id LIMIT $4

-- name: update_customer
-- Staff edits. The bounce registration goes with the old address (the new one shows its
-- own, if it ever bounced); an unsubscribe belongs to the person and stays.
UPDATE customers
SET email = $3, last_name = $4, first_name = $5, company = $6, attributes = $7::jsonb,
    owner_user_id = $8,
    bounced_at = CASE WHEN lower(email) = lower($3) THEN bounced_at ELSE (
        SELECT created_at FROM suppressions
        WHERE tenant_id = $1 AND address = lower($3) AND reason = 'bounced'
    ) END,
    unsubscribed_at = coalesce(unsubscribed_at, (
        SELECT created_at FROM suppressions
        WHERE tenant_id = $1 AND address = lower($3) AND reason = 'unsubscribed'
    )),
    updated_at = now()
WHERE tenant_id = $1 AND id = $2
RETURNING *

-- name: delete_customer
-- A customer and its memberships (there are no cascading foreign keys, see 0002).
WITH memberships AS (
    DELETE FROM group_members WHERE tenant_id = $1 AND customer_id = $2
)
DELETE FROM customers WHERE tenant_id = $1 AND id = $2 RETURNING id

-- name: insert_group
INSERT INTO customer_groups (tenant_id, id, name, description)
VALUES ($1, $2, $3, $4)
RETURNING *, NULL::bigint AS member_count

-- name: get_group
-- One group with its size (counted from the primary key's index).
SELECT g.*, (SELECT count(*) FROM group_members m
             WHERE m.tenant_id = g.tenant_id AND m.group_id = g.id) AS member_count
FROM customer_groups g WHERE g.tenant_id = $1 AND g.id = $2

-- name: existing_groups
-- Which of the ids are groups of the tenant.
SELECT id FROM customer_groups WHERE tenant_id = $1 AND id = ANY($2::uuid[])

-- name: list_groups
-- A page of groups in id order (keyset); sizes are left to get_group.
SELECT *, NULL::bigint AS member_count FROM customer_groups
WHERE tenant_id = $1 AND id > $2 ORDER BY id LIMIT $3

-- name: update_group
UPDATE customer_groups SET name = $3, description = $4, updated_at = now()
WHERE tenant_id = $1 AND id = $2
RETURNING *, NULL::bigint AS member_count

-- name: delete_group
-- A group and its memberships; the customers stay.
WITH memberships AS (
    DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2
)
DELETE FROM customer_groups WHERE tenant_id = $1 AND id = $2 RETURNING id

-- name: add_group_members
-- Adds the tenant's customers among $3 to the group; returns those newly added. Ids of
-- other tenants' or missing customers match nothing.
INSERT INTO group_members (tenant_id, group_id, customer_id)
SELECT $1, $2, c.id FROM customers c WHERE c.tenant_id = $1 AND c.id = ANY($3::uuid[])
ON CONFLICT DO NOTHING
RETURNING customer_id

-- name: existing_customers
-- Which of the ids are customers of the tenant.
SELECT id FROM customers WHERE tenant_id = $1 AND id = ANY($2::uuid[])

-- name: remove_group_member
DELETE FROM group_members WHERE tenant_id = $1 AND group_id = $2 AND customer_id = $3
RETURNING customer_id

-- name: group_exists
SELECT EXISTS (SELECT FROM customer_groups WHERE tenant_id = $1 AND id = $2)

-- name: lock_resolution
-- One resolver per campaign at a time, across processes; held for the whole resolution.
SELECT pg_advisory_lock(hashtextextended('resolve:' || $1::uuid::text, 0))

-- name: unlock_resolution
SELECT pg_advisory_unlock(hashtextextended('resolve:' || $1::uuid::text, 0))

-- name: start_resolution
-- The checkpoint row of a campaign, created on first sight.
INSERT INTO resolutions (campaign_id, tenant_id) VALUES ($1, $2)
ON CONFLICT (campaign_id) DO NOTHING

-- name: get_resolution
SELECT * FROM resolutions WHERE campaign_id = $1

-- name: save_resolution
-- Moves the checkpoint; called only after Kafka acknowledged everything up to it.
UPDATE resolutions
SET last_customer_id = $2, published = $3, excluded = $4::jsonb, updated_at = now()
WHERE campaign_id = $1

-- name: finish_resolution
-- The summary is out: a replay of the campaign's CampaignScheduled does nothing.
UPDATE resolutions SET completed_at = now(), updated_at = now() WHERE campaign_id = $1
