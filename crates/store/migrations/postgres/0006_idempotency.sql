-- Request protection: idempotency records and daily volume counters. Both are written in the
-- transaction of the business write they guard, so the database alone decides.

-- One row per (tenant, key) while it is retained (24 h). The row is inserted first in the
-- transaction (the UNIQUE primary key makes a concurrent duplicate wait, then fail) and carries
-- the response once the transaction commits. `response_status` is 0 only inside that
-- transaction, never after commit.
CREATE TABLE idempotency_keys (
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    key               TEXT NOT NULL,
    fingerprint       TEXT NOT NULL CHECK (length(fingerprint) = 64),
    response_status   BIGINT NOT NULL,
    response_headers  TEXT NOT NULL,
    response_body     TEXT NOT NULL,
    created_at        BIGINT NOT NULL,
    expires_at        BIGINT NOT NULL,
    PRIMARY KEY (tenant_id, key)
);

CREATE INDEX idempotency_keys_by_expiry ON idempotency_keys (expires_at);

-- USD cents sent per tenant per UTC day (days since the Unix epoch), for the daily volume caps.
-- Raised only by a conditional update that keeps it within the cap.
CREATE TABLE daily_volumes (
    tenant_id  TEXT NOT NULL REFERENCES tenants (id),
    day        BIGINT NOT NULL,
    usd_cents  BIGINT NOT NULL CHECK (usd_cents >= 0),
    PRIMARY KEY (tenant_id, day)
);
