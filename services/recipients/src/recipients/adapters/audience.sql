-- name: audience
-- The customers a campaign's recipients spec chooses, with an id after the checkpoint ($2),
-- in id order: (explicit customers ∪ members of included groups), each once, with the
-- first reason that leaves it out (recipients.domain.Exclusion) (NULL when it stays), its owner's position among the
-- staff of the snapshot, and for those who stay their fragment of the RecipientResolved
-- JSON (recipients.encoding). Joins and escaping happen here, next to the data, because
-- Python would spend several times longer on them for a million customers.
-- {missing_merge_value} and {merge_values} are filled by adapters/audience.py from fixed
-- per-field expressions; attribute keys arrive as parameters $15 and up.
--   $1 tenant  $2 after  $3 customers  $4 included groups  $5 excluded groups
--   $6 excluded customers  $7..$10 owners' ids, names, emails, signatures
--   $11..$13 campaign sender's name, email, signature  $14 merge field names
WITH parameter_types AS (
    -- Never read: it states the type of every parameter, also of those that the chosen
    -- merge fields leave unused (PostgreSQL refuses a parameter of unknown type).
    SELECT $1::uuid, $2::uuid, $3::uuid[], $4::uuid[], $5::uuid[], $6::uuid[], $7::uuid[],
           $8::text[], $9::text[], $10::text[], $11::text, $12::text, $13::text, $14::text[]
),
chosen AS (
    SELECT customer_id FROM group_members
    WHERE tenant_id = $1 AND group_id = ANY($4::uuid[]) AND customer_id > $2
    UNION
    SELECT id FROM unnest($3::uuid[]) AS explicit (id) WHERE id > $2
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
candidates AS (
    SELECT c.id, c.email, c.last_name, c.first_name, c.company, c.attributes,
           array_position($7::uuid[], c.owner_user_id) AS owner,
           CASE
               WHEN c.id = ANY($6::uuid[]) THEN 'excluded_customer'
               WHEN left_out.customer_id IS NOT NULL THEN 'excluded_group'
               WHEN c.unsubscribed_at IS NOT NULL OR s.unsubscribed THEN 'unsubscribed'
               WHEN s.complained THEN 'complained'
               WHEN c.bounced_at IS NOT NULL OR s.bounced THEN 'bounced'
               WHEN {missing_merge_value} THEN 'missing_merge_value'
           END AS excluded
    FROM chosen
    JOIN customers c ON c.tenant_id = $1 AND c.id = chosen.customer_id
    LEFT JOIN left_out ON left_out.customer_id = c.id
    LEFT JOIN suppressed s ON s.address = lower(c.email)
)
SELECT c.id::text AS customer_id,
       c.excluded,
       c.owner,
       CASE WHEN c.excluded IS NULL THEN convert_to(
           ',"customer_id":"' || c.id || '","email":' || to_json(c.email)
           || ',"name":' || to_json(concat_ws(' ', nullif(c.last_name, ''), nullif(c.first_name, '')))
           || ',"merge_values":' || json_object($14::text[], ARRAY[{merge_values}]::text[]),
           'UTF8'
       ) END AS fragment
FROM candidates c
ORDER BY c.id
