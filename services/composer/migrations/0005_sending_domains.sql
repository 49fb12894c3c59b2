-- Sending domains of a tenant and their DKIM keys (SPEC §9.1).
-- The same domain may be registered by two tenants: each proves control of it by
-- publishing its own selectors, which only the domain's owner can do.

CREATE TABLE sending_domains (
    id          uuid PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id),
    domain      text        NOT NULL,
    status      text        NOT NULL CHECK (status IN ('pending', 'verified', 'failed')),
    ed25519     boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL,
    verified_at timestamptz,
    checked_at  timestamptz,
    -- What the last DNS check found, per record: [{type, name, value, found, detail, wrong}].
    findings    jsonb       NOT NULL DEFAULT '[]'
);
CREATE UNIQUE INDEX sending_domains_tenant_domain ON sending_domains (tenant_id, domain);

CREATE TABLE dkim_keys (
    domain_id     uuid        NOT NULL REFERENCES sending_domains (id) ON DELETE CASCADE,
    selector      text        NOT NULL,
    algorithm     text        NOT NULL CHECK (algorithm IN ('rsa-sha256', 'ed25519-sha256')),
    state         text        NOT NULL CHECK (state IN ('pending', 'active', 'retiring')),
    public_record text        NOT NULL,
    -- A Fernet token (mailkit.keys) under SIGNING_KEYS_SECRET: the PEM is never stored.
    private_key   text        NOT NULL CHECK (private_key NOT LIKE '%PRIVATE KEY%'),
    created_at    timestamptz NOT NULL,
    PRIMARY KEY (domain_id, selector)
);
