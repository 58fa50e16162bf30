-- Timestamps are Unix microseconds (BIGINT) and ids canonical UUID text in both backends, so one
-- set of queries serves SQLite and PostgreSQL.
CREATE TABLE tenants (
    id          TEXT PRIMARY KEY CHECK (length(id) = 36),
    name        TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    tier        TEXT NOT NULL CHECK (tier IN ('starter', 'growth', 'enterprise')),
    status      TEXT NOT NULL CHECK (status IN ('active', 'suspended')),
    created_at  INTEGER NOT NULL,
    -- Bumped on every change that affects authentication (status), so caches can notice.
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE api_keys (
    id              TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    environment     TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    display_prefix  TEXT NOT NULL,
    key_hash        TEXT NOT NULL UNIQUE CHECK (length(key_hash) = 64),
    created_at      INTEGER NOT NULL,
    expires_at      INTEGER,
    revoked_at      INTEGER
) STRICT;

CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at);
CREATE INDEX api_keys_by_revocation ON api_keys (revoked_at);
CREATE INDEX tenants_by_update ON tenants (updated_at);
