-- Tenants, staff, API keys, registered senders, campaigns and their progress.
-- Every row carries tenant_id; every query of the API filters by the tenant of the key.

CREATE TABLE tenants (
    id             uuid PRIMARY KEY,
    company_name   text        NOT NULL,
    postal_address text        NOT NULL,
    contact        text        NOT NULL,
    time_zone      text        NOT NULL DEFAULT 'Asia/Tokyo',
    created_at     timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE users (
    id         uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    name       text        NOT NULL,
    email      text        NOT NULL,
    signature  text        NOT NULL DEFAULT '',
    role       text        NOT NULL CHECK (role IN ('member', 'manager', 'admin')),
    created_at timestamptz NOT NULL DEFAULT now()
);
-- One account per address within a tenant; lower() so that case variants collide.
CREATE UNIQUE INDEX users_tenant_email ON users (tenant_id, lower(email));

CREATE TABLE api_keys (
    key_id      text PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    user_id     uuid        NOT NULL REFERENCES users (id),
    secret_hash text        NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    revoked_at  timestamptz
);
CREATE INDEX api_keys_user ON api_keys (user_id);

CREATE TABLE registered_senders (
    id         uuid PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id),
    name       text        NOT NULL,
    email      text        NOT NULL,
    created_by uuid        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX registered_senders_tenant ON registered_senders (tenant_id, created_at);

CREATE TABLE campaigns (
    id            uuid PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id),
    state         text        NOT NULL CHECK (state IN ('draft', 'scheduled', 'sending', 'sent')),
    content       jsonb       NOT NULL,
    merge_fields  text[]      NOT NULL DEFAULT '{}',
    footer_disabled_by uuid,
    footer_disabled_at timestamptz,
    created_by    uuid        NOT NULL REFERENCES users (id),
    created_at    timestamptz NOT NULL,
    updated_by    uuid        NOT NULL,
    updated_at    timestamptz NOT NULL,
    scheduled_for timestamptz,
    scheduled_by  uuid,
    released_at   timestamptz,
    completed_at  timestamptz,
    cancelled_by  uuid,
    cancelled_at  timestamptz,
    last_error    text
);
-- Folder listings, newest first (keyset pagination on (sort key, id)).
CREATE INDEX campaigns_folder ON campaigns (tenant_id, state, updated_at DESC, id DESC);
-- The schedule view, by due time.
CREATE INDEX campaigns_schedule ON campaigns (tenant_id, scheduled_for, id) WHERE state = 'scheduled';
-- The release scheduler's scan: only scheduled rows, by due time.
CREATE INDEX campaigns_due ON campaigns (scheduled_for) WHERE state = 'scheduled';

CREATE TABLE campaign_progress (
    campaign_id    uuid PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    tenant_id      uuid        NOT NULL,
    audience_total integer,
    excluded       jsonb       NOT NULL DEFAULT '{}',
    delivery_total integer,
    sent           integer     NOT NULL DEFAULT 0,
    bounced        integer     NOT NULL DEFAULT 0,
    soft_bounced   integer     NOT NULL DEFAULT 0,
    failed         integer     NOT NULL DEFAULT 0,
    unknown        integer     NOT NULL DEFAULT 0,
    suppressed     integer     NOT NULL DEFAULT 0,
    delivery_at    timestamptz,
    completed      boolean     NOT NULL DEFAULT false,
    opens          bigint      NOT NULL DEFAULT 0,
    clicks         bigint      NOT NULL DEFAULT 0,
    machine_opens  bigint      NOT NULL DEFAULT 0,
    machine_clicks bigint      NOT NULL DEFAULT 0
);

CREATE INDEX processed_events_age ON processed_events (processed_at);
