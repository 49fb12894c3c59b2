-- Completion is decided here from the audience size and delivery's counters: delivery's
-- reports carry a sequence (the newer one wins) and a count of deferred messages.
ALTER TABLE campaign_progress ADD COLUMN IF NOT EXISTS deferred integer NOT NULL DEFAULT 0;
ALTER TABLE campaign_progress ADD COLUMN IF NOT EXISTS delivery_sequence bigint NOT NULL DEFAULT 0;
