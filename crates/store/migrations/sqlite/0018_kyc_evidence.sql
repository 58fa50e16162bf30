-- KYC evidence: the documents (and declared beneficial owners) tenants submit, sealed with
-- the envelope encryption, and the tenants' requests to move up a level.

-- One row per submission. The document is sealed in chunks (each one an envelope-encrypted
-- value whose AAD names tenant, table, column and "ROW_ID/CHUNK"), joined by newlines; the
-- SHA-256 of the clear bytes is checked after decryption, so a missing or moved chunk fails.
CREATE TABLE kyc_evidence (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    item          TEXT NOT NULL CHECK (item IN ('email', 'phone', 'business_registration',
                      'government_id', 'address_proof', 'business_licence', 'beneficial_owners',
                      'source_of_funds', 'bank_statements', 'on_site_visit')),
    content_type  TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png',
                      'image/jpeg', 'application/json')),
    size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    document      TEXT NOT NULL,
    -- Beneficial owners only: whether screening found a possible match ('hit'). Never shown to
    -- the tenant; a hit keeps the item from being verified.
    screening     TEXT NOT NULL CHECK (screening IN ('none', 'clear', 'hit')),
    uploaded_by   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX kyc_evidence_by_tenant ON kyc_evidence (tenant_id, item, created_at);

-- A tenant's request to move to the next level. At most one pending per tenant; an approved
-- four-eyes level change closes it in the decision's transaction.
CREATE TABLE kyc_upgrade_requests (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    level         TEXT NOT NULL CHECK (level IN ('basic', 'standard', 'enhanced')),
    status        TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected')),
    requested_by  TEXT NOT NULL,
    requested_at  INTEGER NOT NULL,
    decided_at    INTEGER
) STRICT;
CREATE UNIQUE INDEX kyc_upgrade_requests_one_pending
    ON kyc_upgrade_requests (tenant_id) WHERE status = 'pending';
CREATE INDEX kyc_upgrade_requests_by_status ON kyc_upgrade_requests (status, requested_at);
