-- Campaigns as delivery needs them: the CampaignScheduled snapshot (compiled by each process
-- on first use), the audience size from AudienceResolved (either may arrive first), and the
-- one-time completion claim that keeps two processes from both announcing completion.
CREATE TABLE IF NOT EXISTS campaigns (
    campaign_id  uuid PRIMARY KEY,
    tenant_id    uuid        NOT NULL,
    snapshot     bytea,
    total        integer,
    completed_at timestamptz,
    updated_at   timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS campaigns_open ON campaigns (campaign_id)
    WHERE completed_at IS NULL AND total IS NOT NULL;

-- One row per message: the never-twice ledger. States: see delivery.domain.State.
-- `owner` is the process that wrote the last transition; `event` keeps the
-- RecipientResolved payload while a retry is pending.
CREATE TABLE IF NOT EXISTS ledger (
    message_id      uuid PRIMARY KEY,
    campaign_id     uuid        NOT NULL,
    tenant_id       uuid        NOT NULL,
    state           text        NOT NULL,
    owner           text        NOT NULL,
    attempts        integer     NOT NULL DEFAULT 0,
    next_attempt_at timestamptz,
    reply_code      integer,
    reply_text      text        NOT NULL DEFAULT '',
    event           bytea,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS ledger_campaign_state ON ledger (campaign_id, state);
CREATE INDEX IF NOT EXISTS ledger_due ON ledger (next_attempt_at) WHERE state = 'retry';
CREATE INDEX IF NOT EXISTS ledger_in_flight ON ledger (owner) WHERE state = 'sending';

-- Delivery processes and their last sign of life; a silent one is dead.
CREATE TABLE IF NOT EXISTS instances (
    instance_id  text PRIMARY KEY,
    started_at   timestamptz NOT NULL DEFAULT now(),
    heartbeat_at timestamptz NOT NULL DEFAULT now()
);

-- Suppression learnt after resolution (hard bounces by address, unsubscribes by customer).
CREATE TABLE IF NOT EXISTS suppressed_addresses (
    tenant_id     uuid        NOT NULL,
    email         text        NOT NULL,
    suppressed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, email)
);
CREATE TABLE IF NOT EXISTS suppressed_customers (
    tenant_id     uuid        NOT NULL,
    customer_id   uuid        NOT NULL,
    suppressed_at timestamptz NOT NULL,
    PRIMARY KEY (tenant_id, customer_id)
);
