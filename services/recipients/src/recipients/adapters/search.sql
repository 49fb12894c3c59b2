-- name: search_customers
-- The console's search: a part of the address, of either name or both, or of the company,
-- in any case; keyset pages in id order. A scan of the tenant's rows, stopped at the page.
SELECT * FROM customers
WHERE tenant_id = $1 AND id > $2
  AND (email ILIKE $3 OR company ILIKE $3
       OR concat_ws(' ', last_name, first_name) ILIKE $3 OR last_name || first_name ILIKE $3)
ORDER BY id
LIMIT $4
