-- ISO 20022 (issue 19, third part).
-- The recipient's bank (ISO 9362 BIC, 8 or 11 characters), where the tenant gave it: mapped into
-- CdtrAgt/FinInstnId/BICFI. Validated by the domain's Bic type; the CHECK is the last line.
ALTER TABLE recipients ADD COLUMN bic TEXT CHECK (bic IS NULL OR length(bic) IN (8, 11));

-- Which transfers a pain.001 batch carries (the message row itself has no transfer_id). The
-- primary key puts a transfer in one batch at most: two instances making the same batch at
-- once conflict, and one of them stores nothing. position: the transaction's place in the
-- message.
CREATE TABLE iso20022_batch_transfers (
    transfer_id  TEXT PRIMARY KEY,
    message_id   TEXT NOT NULL REFERENCES iso20022_messages (message_id),
    tenant_id    TEXT NOT NULL,
    position     BIGINT NOT NULL CHECK (position >= 0)
);
CREATE INDEX iso20022_batch_transfers_by_message ON iso20022_batch_transfers (message_id, position);

-- The rail's queue of submitted transfers waiting for their batch (and its redelivery).
CREATE INDEX transfers_by_rail_status ON transfers (rail, status, updated_at);
