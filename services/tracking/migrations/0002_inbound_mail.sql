-- Mail sent to a return path that did not become a Bounced event (no valid token, not a
-- DSN, or a DSN reporting no failure): kept whole so that a person can look at it.
CREATE TABLE IF NOT EXISTS inbound_mail (
    id          bigserial PRIMARY KEY,
    received_at timestamptz NOT NULL DEFAULT now(),
    reason      text NOT NULL,
    mail_from   text NOT NULL,
    rcpt_tos    text[] NOT NULL,
    raw         bytea NOT NULL
);
CREATE INDEX IF NOT EXISTS inbound_mail_received_at ON inbound_mail (received_at);
