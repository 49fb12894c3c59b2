-- name: keep_inbound_mail
-- A mail that is not a bounce we understood; stored rather than lost or bounced back.
INSERT INTO inbound_mail (reason, mail_from, rcpt_tos, raw) VALUES ($1, $2, $3, $4)

-- name: recent_inbound_mail
-- The latest stored mails, for inspection.
SELECT id, received_at, reason, mail_from, rcpt_tos, raw
FROM inbound_mail
ORDER BY id DESC
LIMIT $1
