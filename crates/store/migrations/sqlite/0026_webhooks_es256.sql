-- benteng: rebuild
-- Webhooks signed with ES256 (issue 18). Each signing key generation gains a P-256 half beside
-- its RSA one (NULL on generations made before this migration: the schedule makes a new
-- generation for them, see docs/webhooks.md), and an endpoint may choose ES256.
--
-- SQLite cannot change a CHECK in place, so webhook_endpoints is rebuilt (SQLite's documented
-- twelve steps). The first line asks the migration runner to turn foreign keys off around this
-- script (webhook_deliveries references the table) and to run foreign_key_check before commit.
ALTER TABLE webhook_signing_keys ADD COLUMN ec_public_jwk TEXT;
-- PKCS#8, sealed under the private_key data key, like sealed_private.
ALTER TABLE webhook_signing_keys ADD COLUMN ec_sealed_private TEXT;

CREATE TABLE webhook_endpoints_rebuilt (
    id               TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    environment      TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    url              TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- '*' or event type names separated by single spaces.
    event_types      TEXT NOT NULL CHECK (event_types <> ''),
    description      TEXT NOT NULL CHECK (length(description) <= 500),
    alg              TEXT NOT NULL CHECK (alg IN ('RS256', 'PS256', 'ES256')),
    enabled          INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason  TEXT,
    -- Since when every attempt failed (NULL after a success): five days of it disable.
    failing_since    INTEGER,
    created_at       INTEGER NOT NULL,
    updated_at       INTEGER NOT NULL,
    -- A deleted endpoint is kept for its deliveries' history; it is never listed or sent to.
    deleted_at       INTEGER,
    snap_partner_id  TEXT REFERENCES snap_partners (id)
) STRICT;
INSERT INTO webhook_endpoints_rebuilt (id, tenant_id, environment, url, event_types, description,
    alg, enabled, disabled_reason, failing_since, created_at, updated_at, deleted_at,
    snap_partner_id)
SELECT id, tenant_id, environment, url, event_types, description, alg, enabled, disabled_reason,
    failing_since, created_at, updated_at, deleted_at, snap_partner_id
FROM webhook_endpoints;
DROP TABLE webhook_endpoints;
ALTER TABLE webhook_endpoints_rebuilt RENAME TO webhook_endpoints;
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, environment);
