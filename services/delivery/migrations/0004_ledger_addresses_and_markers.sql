-- A report about a message (a DSN, a feedback-loop complaint) is believed only for the
-- address that message went to, so the ledger keeps the address and the customer from the
-- claim on.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS email text;
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS customer_id uuid;
-- The DATA marker, set in one statement per pipelined group just before a message's
-- content goes on the wire: after a crash only a marked row may have been accepted
-- (unknown); an unmarked one is simply sent again.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS data_at timestamptz;
-- Where the retry horizon counts from: the first attempt, or an operator's resend.
ALTER TABLE ledger ADD COLUMN IF NOT EXISTS queued_at timestamptz NOT NULL DEFAULT now();
