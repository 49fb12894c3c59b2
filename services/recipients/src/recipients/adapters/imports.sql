-- Bulk imports: the file is COPYed into a temporary staging table, then every decision is
-- one set-based statement, all in one transaction: an error leaves nothing behind.

-- name: create_customer_staging
-- One row per data line; NULL where the file has no such column.
CREATE TEMP TABLE import_customers (
    line          integer NOT NULL,
    email         text    NOT NULL,
    last_name     text,
    first_name    text,
    company       text,
    attributes    text,
    owner_user_id text
) ON COMMIT DROP

-- name: create_member_staging
CREATE TEMP TABLE import_members (
    line        integer NOT NULL,
    customer_id text,
    email       text
) ON COMMIT DROP

-- name: create_rejects
-- The rows an import leaves out, with the first reason found.
CREATE TEMP TABLE import_rejects (
    line   integer PRIMARY KEY,
    value  text    NOT NULL,
    reason text    NOT NULL
) ON COMMIT DROP

-- name: reject_invalid_customer_rows
-- Rows whose values cannot be stored, with the first problem found. $1 is
-- recipients.domain.EMAIL_PATTERN.
INSERT INTO import_rejects (line, value, reason)
SELECT line, email, problem FROM (
    SELECT line, email, CASE
        WHEN email !~ $1 OR length(email) > 254 OR length(split_part(email, '@', 1)) > 64
            THEN 'invalid_address'
        WHEN owner_user_id <> ''
            AND owner_user_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
            THEN 'invalid_owner'
        WHEN greatest(length(last_name), length(first_name), length(company)) > 1000
            OR length(attributes) > 100000
            THEN 'too_long'
    END AS problem
    FROM import_customers
) checked
WHERE problem IS NOT NULL

-- name: staged_owners
-- The owners the rows not rejected yet name, each once, at most $1 of them; the caller asks
-- the composer which are users of the tenant. The CASE keeps malformed ids (rejected as
-- invalid_owner already) away from the cast, whatever order the planner chooses.
SELECT DISTINCT owner FROM (
    SELECT CASE WHEN owner_user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN owner_user_id::uuid END AS owner
    FROM import_customers s
    WHERE NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)
) named
WHERE owner IS NOT NULL
LIMIT $1

-- name: reject_unknown_owners
-- Rows whose owner ($1: the ids the composer does not know in this tenant) is no user.
INSERT INTO import_rejects (line, value, reason)
SELECT line, email, 'unknown_owner' FROM import_customers s
WHERE CASE WHEN owner_user_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
           THEN owner_user_id::uuid END = ANY($1::uuid[])
  AND NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)

-- name: reject_repeated_addresses
-- Every repetition of an address after its first valid line. Sorted with the "C"
-- collation (bytes; lower() already folded the case): several times faster than the
-- language-aware one on a million rows, and equality is the same.
INSERT INTO import_rejects (line, value, reason)
SELECT line, email, 'duplicate' FROM (
    SELECT line, email,
           row_number() OVER (PARTITION BY lower(email) COLLATE "C" ORDER BY line) AS n
    FROM import_customers s
    WHERE NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)
) numbered
WHERE n > 1

-- name: reject_existing_addresses
-- Addresses that are customers of the tenant already, when those are not to be updated.
INSERT INTO import_rejects (line, value, reason)
SELECT s.line, s.email, 'duplicate' FROM import_customers s
WHERE EXISTS (
    SELECT FROM customers c WHERE c.tenant_id = $1 AND lower(c.email) = lower(s.email)
)
  AND NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)

-- name: update_existing_customers
-- Re-imported addresses update what the file has a column for; attributes are merged.
UPDATE customers c
SET last_name = coalesce(s.last_name, c.last_name),
    first_name = coalesce(s.first_name, c.first_name),
    company = coalesce(s.company, c.company),
    attributes = c.attributes || coalesce(s.attributes, '{}')::jsonb,
    owner_user_id = CASE WHEN s.owner_user_id IS NULL THEN c.owner_user_id
                         ELSE nullif(s.owner_user_id, '')::uuid END,
    updated_at = now()
FROM import_customers s
WHERE c.tenant_id = $1 AND lower(c.email) = lower(s.email)
  AND NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)

-- name: insert_new_customers
-- The remaining rows become customers, ids ascending with the line ($2 is the import's id
-- prefix, recipients.domain.import_id_prefix): the primary key grows at its end.
-- An address that opted out before (suppressions) shows so on its new customer.
INSERT INTO customers (tenant_id, id, email, last_name, first_name, company, attributes,
                       owner_user_id, unsubscribed_at, bounced_at)
SELECT $1, ($2 || lpad(to_hex(s.line), 12, '0'))::uuid, s.email, coalesce(s.last_name, ''),
       coalesce(s.first_name, ''), coalesce(s.company, ''), coalesce(s.attributes, '{}')::jsonb,
       nullif(s.owner_user_id, '')::uuid, u.created_at, b.created_at
FROM import_customers s
LEFT JOIN suppressions u
       ON u.tenant_id = $1 AND u.address = lower(s.email) AND u.reason = 'unsubscribed'
LEFT JOIN suppressions b
       ON b.tenant_id = $1 AND b.address = lower(s.email) AND b.reason = 'bounced'
WHERE NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = s.line)
  AND NOT EXISTS (
      SELECT FROM customers c WHERE c.tenant_id = $1 AND lower(c.email) = lower(s.email)
  )
ORDER BY s.line

-- name: resolve_members
-- Each staged membership row with the customer it names (by id, else by address), or the
-- reason it names none. The CASE guards the uuid cast from malformed ids.
CREATE TEMP TABLE import_member_ids ON COMMIT DROP AS
WITH staged AS (
    SELECT line, coalesce(customer_id, email) AS value, email,
           CASE WHEN customer_id ~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                THEN customer_id::uuid END AS customer_uuid,
           CASE
               WHEN customer_id IS NOT NULL THEN
                   CASE WHEN customer_id !~* '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                        THEN 'invalid_customer_id' END
               WHEN email IS NULL THEN 'missing_customer'
               WHEN email !~ $2 OR length(email) > 254 THEN 'invalid_address'
           END AS problem
    FROM import_members
)
SELECT s.line, s.value, s.problem, coalesce(by_id.id, by_email.id) AS customer_id
FROM staged s
LEFT JOIN customers by_id
       ON by_id.tenant_id = $1 AND by_id.id = s.customer_uuid AND s.problem IS NULL
LEFT JOIN customers by_email
       ON by_email.tenant_id = $1 AND s.customer_uuid IS NULL AND s.problem IS NULL
      AND lower(by_email.email) = lower(s.email)

-- name: reject_member_rows
-- Malformed rows, rows naming no customer of the tenant, and repeats of a customer.
INSERT INTO import_rejects (line, value, reason)
SELECT line, value, reason FROM (
    SELECT line, value, coalesce(problem, CASE
        WHEN customer_id IS NULL THEN 'unknown_customer'
        WHEN row_number() OVER (PARTITION BY customer_id ORDER BY line) > 1 THEN 'duplicate'
    END) AS reason
    FROM import_member_ids
) classified
WHERE reason IS NOT NULL

-- name: insert_members
-- The named customers join the group; those already in it stay as they are.
INSERT INTO group_members (tenant_id, group_id, customer_id)
SELECT $1, $2, m.customer_id FROM import_member_ids m
WHERE NOT EXISTS (SELECT FROM import_rejects r WHERE r.line = m.line)
ORDER BY m.customer_id
ON CONFLICT DO NOTHING

-- name: reject_counts
SELECT reason, count(*) AS n FROM import_rejects GROUP BY reason

-- name: first_rejects
-- The report lists the first rejects only; the counts cover them all.
SELECT line, value, reason FROM import_rejects ORDER BY line LIMIT $1
