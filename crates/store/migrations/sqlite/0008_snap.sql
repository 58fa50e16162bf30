-- SNAP (Bank Indonesia) partners, their B2B access tokens, and the partnerReferenceNo of every
-- SNAP transfer. The client secret is sealed with the vault keyring (AAD = tenant,
-- "snap_partners", "client_secret", id); tokens are stored as SHA-256 only.
CREATE TABLE snap_partners (
    id                    TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id             TEXT NOT NULL REFERENCES tenants (id) CHECK (length(tenant_id) = 36),
    -- X-CLIENT-KEY, and the X-PARTNER-ID its requests carry.
    client_id             TEXT NOT NULL UNIQUE CHECK (length(client_id) BETWEEN 1 AND 36),
    public_key_pem        TEXT NOT NULL,
    key_fingerprint       TEXT NOT NULL
                          CHECK (length(key_fingerprint) = 64 AND key_fingerprint NOT GLOB '*[^0-9a-f]*'),
    client_secret_sealed  TEXT NOT NULL,
    created_at            INTEGER NOT NULL,
    revoked_at            INTEGER
) STRICT;

CREATE INDEX snap_partners_by_tenant ON snap_partners (tenant_id, created_at);

CREATE TABLE snap_tokens (
    token_hash  TEXT PRIMARY KEY
                CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
    partner_id  TEXT NOT NULL REFERENCES snap_partners (id),
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL,
    revoked_at  INTEGER
) STRICT;

CREATE INDEX snap_tokens_by_partner ON snap_tokens (partner_id);

-- partnerReferenceNo is unique per partner. The row is reserved before the transfer is
-- created (transfer_id NULL) and linked to it after, so two concurrent requests with the same
-- reference cannot both create a transfer.
CREATE TABLE snap_transfers (
    partner_id            TEXT NOT NULL REFERENCES snap_partners (id),
    partner_reference_no  TEXT NOT NULL CHECK (length(partner_reference_no) BETWEEN 1 AND 64),
    transfer_id           TEXT UNIQUE REFERENCES transfers (id),
    created_at            INTEGER NOT NULL,
    PRIMARY KEY (partner_id, partner_reference_no)
) STRICT;
