-- Digests of opens and clicks. Everything here is event-carried state: campaign settings and
-- the staff directory come from CampaignScheduled, the message directory from MessageSent.

-- Campaign settings the digests need; a campaign snapshot is immutable once released.
CREATE TABLE campaigns (
    campaign_id       uuid PRIMARY KEY,
    tenant_id         uuid        NOT NULL,
    name              text        NOT NULL DEFAULT '',
    subject           text        NOT NULL,
    first_open_timing text        NOT NULL,
    reopen_timing     text        NOT NULL,
    click_timing      text        NOT NULL,
    time_zone         text        NOT NULL,
    released_at       timestamptz NOT NULL
);

-- Who a digest goes to; the newest campaign snapshot wins.
CREATE TABLE staff (
    tenant_id  uuid        NOT NULL,
    user_id    uuid        NOT NULL,
    name       text        NOT NULL DEFAULT '',
    email      text        NOT NULL,
    as_of      timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, user_id)
);

-- Message directory ("who" in a digest) and the durable last open of each message, which
-- classifies opens when Redis has lost its state. A row may exist before its MessageSent.
CREATE TABLE messages (
    message_id   uuid PRIMARY KEY,
    tenant_id    uuid NOT NULL,
    campaign_id  uuid NOT NULL,
    customer_id  uuid NOT NULL,
    email        text,
    name         text,
    last_open_at timestamptz
);

-- Every notifiable open or click (first open, re-open, click), once: the primary key drops
-- redelivered events. Suppressed re-opens and machine hits are only counted (counters).
-- status: pending (waits for its period to close), awaiting (campaign not known yet),
-- digested (in digest_id), dropped (timing none).
CREATE TABLE hits (
    event_id     uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    campaign_id  uuid        NOT NULL,
    message_id   uuid        NOT NULL,
    customer_id  uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    kind         text        NOT NULL,
    url          text,
    occurred_at  timestamptz NOT NULL,
    received_at  timestamptz NOT NULL DEFAULT now(),
    status       text        NOT NULL,
    timing       text,
    period_start timestamptz,
    period_end   timestamptz,
    digest_id    bigint
);
CREATE INDEX hits_due ON hits (period_end, tenant_id, user_id) WHERE status = 'pending';
CREATE INDEX hits_awaiting ON hits (campaign_id) WHERE status = 'awaiting';
CREATE INDEX hits_digest ON hits (digest_id) WHERE digest_id IS NOT NULL;

-- The digest ledger: one row per (user, boundary) is what makes a digest exactly-once.
-- state: claimed -> building -> sending -> sent | failed. A lease names the process working
-- on a row; an expired lease lets another process take over.
CREATE TABLE digests (
    id           bigserial PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    user_id      uuid        NOT NULL,
    boundary     timestamptz NOT NULL,
    period_start timestamptz NOT NULL,
    state        text        NOT NULL DEFAULT 'claimed',
    lease_owner  text,
    lease_until  timestamptz,
    attempts     int         NOT NULL DEFAULT 0,
    last_error   text,
    claimed_at   timestamptz NOT NULL DEFAULT now(),
    sent_at      timestamptz,
    UNIQUE (tenant_id, user_id, boundary)
);
CREATE INDEX digests_open ON digests (id) WHERE state IN ('claimed', 'building', 'sending');

-- Running totals for the stats endpoint, updated in the transaction that records the hits.
CREATE TABLE counters (
    tenant_id uuid   NOT NULL,
    name      text   NOT NULL,
    value     bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (tenant_id, name)
);
