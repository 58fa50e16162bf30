-- Webhooks: the outbox of tenant-visible events (written in the transaction of the change
-- they report), the tenants' endpoints, one delivery per (event, endpoint) with its schedule
-- and claim, every attempt, and the signing keys (private halves sealed under the KEK).

CREATE TABLE webhook_events (
    id           TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id    TEXT NOT NULL REFERENCES tenants (id),
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    event_type   TEXT NOT NULL,
    object_type  TEXT NOT NULL,
    object_id    TEXT NOT NULL,
    -- 1, 2, 3… per object, in commit order: receivers order by it.
    sequence     BIGINT NOT NULL CHECK (sequence >= 1),
    data         TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    UNIQUE (object_type, object_id, sequence)
);
CREATE INDEX webhook_events_by_tenant ON webhook_events (tenant_id, created_at);

CREATE TABLE webhook_endpoints (
    id               TEXT PRIMARY KEY CHECK (length(id) = 36),
    tenant_id        TEXT NOT NULL REFERENCES tenants (id),
    environment      TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    url              TEXT NOT NULL CHECK (length(url) BETWEEN 1 AND 2048),
    -- '*' or event type names separated by single spaces.
    event_types      TEXT NOT NULL CHECK (event_types <> ''),
    description      TEXT NOT NULL CHECK (length(description) <= 500),
    alg              TEXT NOT NULL CHECK (alg IN ('RS256', 'PS256')),
    enabled          BIGINT NOT NULL CHECK (enabled IN (0, 1)),
    disabled_reason  TEXT,
    -- Since when every attempt failed (NULL after a success): five days of it disable.
    failing_since    BIGINT,
    created_at       BIGINT NOT NULL,
    updated_at       BIGINT NOT NULL,
    -- A deleted endpoint is kept for its deliveries' history; it is never listed or sent to.
    deleted_at       BIGINT
);
CREATE INDEX webhook_endpoints_by_tenant ON webhook_endpoints (tenant_id, environment);

CREATE TABLE webhook_deliveries (
    event_id         TEXT NOT NULL REFERENCES webhook_events (id),
    endpoint_id      TEXT NOT NULL REFERENCES webhook_endpoints (id),
    tenant_id        TEXT NOT NULL,
    object_id        TEXT NOT NULL,
    sequence         BIGINT NOT NULL,
    state            TEXT NOT NULL CHECK (state IN ('pending', 'delivered', 'failed')),
    attempts         BIGINT NOT NULL DEFAULT 0,
    next_attempt_at  BIGINT NOT NULL,
    -- A claim: the worker holding it until then; a crashed worker's claim lapses.
    locked_until     BIGINT,
    lock_token       TEXT,
    last_status      BIGINT,
    created_at       BIGINT NOT NULL,
    finished_at      BIGINT,
    PRIMARY KEY (event_id, endpoint_id)
);
CREATE INDEX webhook_deliveries_due ON webhook_deliveries (state, next_attempt_at);
CREATE INDEX webhook_deliveries_by_object ON webhook_deliveries (endpoint_id, object_id, sequence);

CREATE TABLE webhook_attempts (
    id                TEXT PRIMARY KEY CHECK (length(id) = 36),
    event_id          TEXT NOT NULL,
    endpoint_id       TEXT NOT NULL,
    attempt           BIGINT NOT NULL,
    started_at        BIGINT NOT NULL,
    -- The HTTP status, when a response came.
    status            BIGINT,
    outcome           TEXT NOT NULL,
    error             TEXT,
    latency_ms        BIGINT NOT NULL,
    -- The first 2 KiB of the response body.
    response_excerpt  TEXT NOT NULL CHECK (length(response_excerpt) <= 2048),
    FOREIGN KEY (event_id, endpoint_id) REFERENCES webhook_deliveries (event_id, endpoint_id)
);
CREATE INDEX webhook_attempts_by_delivery ON webhook_attempts (event_id, endpoint_id, attempt);

CREATE TABLE webhook_signing_keys (
    kid             TEXT PRIMARY KEY,
    -- 1, 2, 3…: a second instance rotating at the same moment conflicts instead of adding a key.
    generation      BIGINT NOT NULL UNIQUE,
    public_jwk      TEXT NOT NULL,
    -- PKCS#8, sealed under the private_key data key (which the KEK wraps).
    sealed_private  TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    -- Published from created_at; signs from signs_from (14 days later, but for the first key).
    signs_from      BIGINT NOT NULL CHECK (signs_from >= created_at)
);
