-- mTLS tenant binding: client certificates a tenant registered (by SHA-256 fingerprint of the
-- DER, lowercase hex), and whether the tenant's requests must present one of them.
ALTER TABLE tenants ADD COLUMN require_mtls INTEGER NOT NULL DEFAULT 0 CHECK (require_mtls IN (0, 1));

CREATE TABLE tenant_certificates (
    tenant_id           TEXT NOT NULL REFERENCES tenants (id) CHECK (length(tenant_id) = 36),
    -- One certificate belongs to at most one tenant.
    sha256_fingerprint  TEXT NOT NULL UNIQUE
                        CHECK (length(sha256_fingerprint) = 64 AND sha256_fingerprint NOT GLOB '*[^0-9a-f]*'),
    subject             TEXT NOT NULL,
    not_after           INTEGER NOT NULL,
    created_at          INTEGER NOT NULL
) STRICT;

CREATE INDEX tenant_certificates_by_tenant ON tenant_certificates (tenant_id, created_at);
