-- Opt-outs per tenant and address (SPEC §4.2, §9.6, §11): an address that unsubscribed,
-- bounced hard or complained stays out of bulk mail whatever happens to the customer row
-- it was learnt from; deleting and re-importing the customer does not bring it back. The
-- customer's own unsubscribed_at / bounced_at stay as the state it shows; the audience
-- query excludes by either. Only an admin lifts an entry, and the lift is kept.

CREATE TABLE suppressions (
    tenant_id   uuid        NOT NULL,
    id          uuid        NOT NULL,
    -- Lower case: one entry per address whatever case it was written in.
    address     text        NOT NULL,
    reason      text        NOT NULL CHECK (reason IN ('unsubscribed', 'bounced', 'complained')),
    -- How it was learnt: one_click, form, api (staff), smtp, dsn, address_change, customer.
    source      text        NOT NULL DEFAULT '',
    customer_id uuid,
    created_at  timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- One entry per address and reason; a repeated opt-out keeps the first.
CREATE UNIQUE INDEX suppressions_address ON suppressions (tenant_id, address, reason);

-- The list filtered by reason, in id order.
CREATE INDEX suppressions_reason ON suppressions (tenant_id, reason, id);

-- Lifted entries: who lifted which opt-out, when and why.
CREATE TABLE suppression_lifts (
    tenant_id      uuid        NOT NULL,
    id             uuid        NOT NULL,
    suppression_id uuid        NOT NULL,
    address        text        NOT NULL,
    reason         text        NOT NULL,
    source         text        NOT NULL,
    customer_id    uuid,
    suppressed_at  timestamptz NOT NULL,
    lifted_at      timestamptz NOT NULL,
    lifted_by      uuid        NOT NULL,
    note           text        NOT NULL,
    PRIMARY KEY (tenant_id, id)
);

-- Whether an opt-out was lifted after it happened (a late event does not undo a lift).
CREATE INDEX suppression_lifts_address ON suppression_lifts (tenant_id, address, reason);

-- What the customer rows knew until now becomes entries.
INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
SELECT tenant_id, gen_random_uuid(), lower(email), 'unsubscribed', 'customer', id,
       unsubscribed_at
FROM customers WHERE unsubscribed_at IS NOT NULL
ON CONFLICT DO NOTHING;

INSERT INTO suppressions (tenant_id, id, address, reason, source, customer_id, created_at)
SELECT tenant_id, gen_random_uuid(), lower(email), 'bounced', 'customer', id, bounced_at
FROM customers WHERE bounced_at IS NOT NULL
ON CONFLICT DO NOTHING;
