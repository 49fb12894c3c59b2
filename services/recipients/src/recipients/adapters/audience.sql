-- name: audience
-- The recipients a campaign's spec chooses, with an id after the checkpoint ($2), in id
-- order: (explicit customers ∪ members of included groups ∪ customers with one of the
-- explicit addresses), each once, then the explicit addresses no customer has (with an id
-- derived from tenant and address); with the first reason that leaves one out
-- (recipients.domain.Exclusion) (NULL when it stays), its owner's position among the staff
-- of the snapshot, and its fragment of the RecipientResolved JSON (recipients.encoding)
-- when it stays (or always, with $18). Joins and escaping happen here, next to the data,
-- because Python would spend several times longer on them for a million customers.
-- The kind ($15) says which reasons count: bulk mail leaves out every opt-out; individual
-- mail reaches an unsubscribed customer (SPEC §4.2); a test send goes to staff ($17, in
-- place of the customer's address, under an id of its own) whatever the customer's state.
-- {missing_merge_value} and {merge_values} are filled by adapters/audience.py from fixed
-- per-field expressions; attribute keys arrive as parameters $19 and up.
--   $1 tenant  $2 after  $3 customers  $4 included groups  $5 excluded groups
--   $6 excluded customers  $7..$10 owners' ids, names, emails, signatures
--   $11..$13 campaign sender's name, email, signature  $14 merge field names
--   $15 kind  $16 addresses  $17 test address  $18 fragments of excluded ones too
WITH parameter_types AS (
    -- Never read: it states the type of every parameter, also of those that the chosen
    -- merge fields leave unused (PostgreSQL refuses a parameter of unknown type).
    SELECT $1::uuid, $2::uuid, $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[],
           $8::text[], $9::text[], $10::text[], $11::text, $12::text, $13::text, $14::text[],
           $15::text, $16::text[], $17::text, $18::bool
),
addresses AS (
    SELECT DISTINCT lower(address) AS address FROM unnest($16::text[]) AS given (address)
),
chosen AS (
    SELECT customer_id FROM group_members
    WHERE tenant_id = $1 AND group_id = ANY($4::uuid[]) AND customer_id > $2
    UNION
    SELECT id FROM unnest($3::uuid[]) AS explicit (id) WHERE id > $2
    UNION
    SELECT c.id FROM customers c JOIN addresses a ON lower(c.email) = a.address
    WHERE c.tenant_id = $1 AND c.id > $2
),
strangers AS (
    -- Addresses that are no customer: individual mail to someone outside the list.
    SELECT md5($1::text || ':' || a.address)::uuid AS id, a.address AS email
    FROM addresses a
    WHERE NOT EXISTS (
        SELECT FROM customers c WHERE c.tenant_id = $1 AND lower(c.email) = a.address
    )
),
left_out AS (
    SELECT DISTINCT customer_id FROM group_members
    WHERE tenant_id = $1 AND group_id = ANY($5::uuid[]) AND customer_id > $2
),
suppressed AS (
    -- Opt-outs by address outlive the customer rows they were learnt from (a deleted and
    -- re-imported customer stays out): the tenant's suppressed addresses, one row each,
    -- hashed once and probed per candidate.
    SELECT address,
           bool_or(reason = 'unsubscribed') AS unsubscribed,
           bool_or(reason = 'complained') AS complained,
           bool_or(reason = 'bounced') AS bounced
    FROM suppressions WHERE tenant_id = $1
    GROUP BY address
),
people AS (
    SELECT c.id, c.email, c.last_name, c.first_name, c.company, c.attributes,
           array_position($7::uuid[], c.owner_user_id) AS owner,
           c.unsubscribed_at IS NOT NULL AS unsubscribed, c.bounced_at IS NOT NULL AS bounced,
           c.id = ANY($6::uuid[]) AS excluded_customer,
           left_out.customer_id IS NOT NULL AS excluded_group
    FROM chosen
    JOIN customers c ON c.tenant_id = $1 AND c.id = chosen.customer_id
    LEFT JOIN left_out ON left_out.customer_id = c.id
    UNION ALL
    SELECT id, email, '', '', '', '{}'::jsonb, NULL, false, false, false, false
    FROM strangers WHERE id > $2
),
candidates AS (
    SELECT c.*,
           CASE
               WHEN $15 = 'test' THEN NULL
               WHEN c.excluded_customer THEN 'excluded_customer'
               WHEN c.excluded_group THEN 'excluded_group'
               WHEN $15 = 'bulk' AND (c.unsubscribed OR s.unsubscribed) THEN 'unsubscribed'
               WHEN s.complained THEN 'complained'
               WHEN c.bounced OR s.bounced THEN 'bounced'
               WHEN {missing_merge_value} THEN 'missing_merge_value'
           END AS excluded
    FROM people c
    LEFT JOIN suppressed s ON s.address = lower(c.email)
)
SELECT c.id::text AS customer_id,
       c.excluded,
       c.owner,
       CASE WHEN c.excluded IS NULL OR $18 THEN convert_to(
           ',"customer_id":"'
           || CASE WHEN $17 IS NULL THEN c.id ELSE md5($1::text || ':test:' || c.id)::uuid END
           || '","email":' || to_json(coalesce($17, c.email))
           || ',"name":' || to_json(concat_ws(' ', nullif(c.last_name, ''), nullif(c.first_name, '')))
           || ',"merge_values":' || json_object($14::text[], ARRAY[{merge_values}]::text[]),
           'UTF8'
       ) END AS fragment
FROM candidates c
ORDER BY c.id
