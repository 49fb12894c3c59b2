-- Customers, groups, suppression state and the audience resolver's checkpoints.
--
-- Ids are UUIDv7-like (time first) so that new rows land at the end of the primary key:
-- bulk imports append instead of splitting pages, and the resolver's walk in id order
-- reads the heap roughly in the order it was written.
--
-- There are no foreign keys between the tables: a bulk membership import of a million rows
-- would pay one trigger call per row for checks its own set-based join already makes, and
-- the deletes that would cascade remove memberships themselves (queries.sql).

CREATE TABLE customers (
    tenant_id       uuid        NOT NULL,
    id              uuid        NOT NULL,
    email           text        NOT NULL,
    last_name       text        NOT NULL DEFAULT '',
    first_name      text        NOT NULL DEFAULT '',
    company         text        NOT NULL DEFAULT '',
    attributes      jsonb       NOT NULL DEFAULT '{}',
    owner_user_id   uuid,
    unsubscribed_at timestamptz,
    bounced_at      timestamptz,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

-- One customer per address and tenant, whatever the case of the address.
CREATE UNIQUE INDEX customers_email ON customers (tenant_id, lower(email));

CREATE TABLE customer_groups (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, id)
);

CREATE TABLE group_members (
    tenant_id   uuid        NOT NULL,
    group_id    uuid        NOT NULL,
    customer_id uuid        NOT NULL,
    added_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, group_id, customer_id)
);

-- Which groups a customer is in (deletes, and the resolver's exclusion probes).
CREATE INDEX group_members_customer ON group_members (tenant_id, customer_id);

-- One row per campaign whose audience is being or was resolved. `last_customer_id` is the
-- checkpoint: every recipient up to it (in id order) was acknowledged by Kafka, and the
-- counters cover exactly those customers.
CREATE TABLE resolutions (
    campaign_id      uuid        PRIMARY KEY,
    tenant_id        uuid        NOT NULL,
    last_customer_id uuid,
    published        bigint      NOT NULL DEFAULT 0,
    excluded         jsonb       NOT NULL DEFAULT '{}',
    started_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    completed_at     timestamptz
);

-- The value of one merge field (contracts.merge) for a customer and a resolved sender; NULL
-- when missing or empty. A single-SELECT SQL function, so the planner inlines it into the
-- audience query instead of calling it per row.
CREATE FUNCTION merge_value(
    field text,
    last_name text,
    first_name text,
    company text,
    email text,
    attributes jsonb,
    sender_name text,
    sender_email text,
    sender_signature text
) RETURNS text
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT nullif(CASE field
        WHEN 'last_name' THEN last_name
        WHEN 'first_name' THEN first_name
        WHEN 'full_name' THEN concat_ws(' ', nullif(last_name, ''), nullif(first_name, ''))
        WHEN 'company' THEN company
        WHEN 'email' THEN email
        WHEN 'sender_name' THEN sender_name
        WHEN 'sender_email' THEN sender_email
        WHEN 'sender_signature' THEN sender_signature
        ELSE attributes ->> substr(field, 6)
    END, '')
$$;
