-- The campaign template reaches delivery on the recipient stream itself, and completion
-- is the composer's decision: delivery keeps no audience size and claims no completion.
-- What it keeps instead is a sequence per campaign, raised in the same statement as every
-- ledger change, so that a progress report is due exactly when changed_seq > reported_seq,
-- whichever process made the change and whether or not it survived.
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS changed_seq bigint NOT NULL DEFAULT 0;
ALTER TABLE campaigns ADD COLUMN IF NOT EXISTS reported_seq bigint NOT NULL DEFAULT 0;
DROP INDEX IF EXISTS campaigns_open;
ALTER TABLE campaigns DROP COLUMN IF EXISTS total;
ALTER TABLE campaigns DROP COLUMN IF EXISTS completed_at;
CREATE INDEX IF NOT EXISTS campaigns_unreported ON campaigns (campaign_id)
    WHERE changed_seq > reported_seq;
