-- Incident alerts (issue 20): an incident is due to be announced on the operator's channel
-- (`incidents.notify_url`) when it opens and again when its severity rises (notify_due_at),
-- until one instance has sent it (notified_at). A claim moves notify_due_at a lease ahead, so
-- of two instances one sends, and a send that failed is retried when the lease lapses.
ALTER TABLE incidents ADD COLUMN notify_due_at BIGINT;
ALTER TABLE incidents ADD COLUMN notified_at BIGINT;
CREATE INDEX incidents_alerts_due ON incidents (notify_due_at) WHERE notified_at IS NULL;
