-- name: keep_inbound_mail
-- A mail that is not a bounce we understood; stored rather than lost or bounced back.
INSERT INTO inbound_mail (reason, mail_from, rcpt_tos, raw) VALUES ($1, $2, $3, $4)

-- name: recent_inbound_mail
-- The latest stored mails, for inspection.
SELECT id, received_at, reason, mail_from, rcpt_tos, raw
FROM inbound_mail
ORDER BY id DESC
LIMIT $1

-- name: purge_inbound_mail
-- Kept mail is for a person to look at for a while, not forever (SPEC 9.6); in batches, so
-- that a large backlog never holds many locks at once, and processes purging together skip
-- each other's rows.
DELETE FROM inbound_mail
WHERE id IN (
    SELECT id FROM inbound_mail
    WHERE received_at < now() - make_interval(days => $1)
    ORDER BY received_at
    LIMIT $2
    FOR UPDATE SKIP LOCKED
)
