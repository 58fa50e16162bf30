-- More webhook events and SNAP notifications. A batch is finished when its last transfer
-- ends, found through its transfers (batch.finished is written in that transfer's
-- transaction). A webhook endpoint may belong to a SNAP partner: it then gets only that
-- partner's SNAP transfers' events, in SNAP's notification format and signature. Notices are
-- the e-mail-shaped messages to a tenant (an endpoint the system disabled), readable in the API.
CREATE INDEX transfers_by_batch ON transfers (batch_id);
ALTER TABLE webhook_endpoints ADD COLUMN snap_partner_id TEXT REFERENCES snap_partners (id);

CREATE TABLE tenant_notices (
    id          TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    subject     TEXT NOT NULL,
    body        TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
CREATE INDEX tenant_notices_by_tenant ON tenant_notices (tenant_id, created_at);
