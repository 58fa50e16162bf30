-- Transaction monitoring, alerts and KYC levels.

-- A tenant's running totals per environment. The first row a transfer's transaction takes
-- (an upsert that locks it), so one tenant's transfers are scored one after another across
-- instances and never both see the same history.
CREATE TABLE monitoring_totals (
    tenant_id       TEXT NOT NULL REFERENCES tenants (id),
    environment     TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    seq             INTEGER NOT NULL CHECK (seq >= 0),
    usd_cents       INTEGER NOT NULL CHECK (usd_cents >= 0),
    near_threshold  INTEGER NOT NULL CHECK (near_threshold >= 0),
    last_at         INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, environment)
) STRICT;

-- One row per transfer monitoring counts (approved or held; a blocked transfer moves no money),
-- with the running totals after it. A window's sum is the current total minus the total before
-- the window's first row: one index lookup, whatever the tenant's history.
CREATE TABLE monitoring_observations (
    tenant_id        TEXT NOT NULL,
    environment      TEXT NOT NULL,
    seq              INTEGER NOT NULL,
    transfer_id      TEXT NOT NULL UNIQUE REFERENCES transfers (id),
    observed_at      INTEGER NOT NULL,
    usd_cents        INTEGER NOT NULL CHECK (usd_cents >= 0),
    near_threshold   INTEGER NOT NULL CHECK (near_threshold IN (0, 1)),
    total_usd_cents  INTEGER NOT NULL,
    total_near       INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, environment, seq),
    FOREIGN KEY (tenant_id, environment) REFERENCES monitoring_totals (tenant_id, environment)
) STRICT;
CREATE INDEX monitoring_observations_by_time
    ON monitoring_observations (tenant_id, environment, observed_at, seq);

-- The corridors (destination country, payout currency) each tenant has paid into.
CREATE TABLE monitoring_corridors (
    tenant_id          TEXT NOT NULL REFERENCES tenants (id),
    environment        TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    country            TEXT NOT NULL CHECK (length(country) = 2),
    currency           TEXT NOT NULL CHECK (length(currency) = 3),
    first_transfer_id  TEXT NOT NULL REFERENCES transfers (id),
    first_seen_at      INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, environment, country, currency)
) STRICT;

-- The monitoring part of each transfer's decision: every rule evaluated, hit or not, with its
-- inputs (JSON), for analysts and `benteng monitoring explain`. Never shown to the tenant.
CREATE TABLE transfer_monitoring (
    transfer_id       TEXT PRIMARY KEY REFERENCES transfers (id),
    tenant_id         TEXT NOT NULL REFERENCES tenants (id),
    rule_set          TEXT NOT NULL,
    risk_score        INTEGER NOT NULL CHECK (risk_score BETWEEN 0 AND 100),
    verdict           TEXT NOT NULL CHECK (verdict IN ('approve', 'review', 'block')),
    amount_usd_cents  INTEGER NOT NULL,
    rules             TEXT NOT NULL,
    -- What a replay of other rules needs, so it can run on this table alone.
    environment       TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    country           TEXT NOT NULL CHECK (length(country) = 2),
    bank_country      TEXT CHECK (length(bank_country) = 2),
    currency          TEXT NOT NULL CHECK (length(currency) = 3),
    screening_score   INTEGER NOT NULL,
    screening_verdict TEXT NOT NULL CHECK (screening_verdict IN ('approve', 'review', 'block')),
    created_at        INTEGER NOT NULL
) STRICT;
CREATE INDEX transfer_monitoring_by_time ON transfer_monitoring (created_at);

-- Alerts for compliance staff: a blocked transfer, a KYC refusal at the enhanced boundary, a
-- post-event rule's hit. The review workflow and incident response pick them up.
CREATE TABLE alerts (
    id           TEXT PRIMARY KEY CHECK (length(id) = 36),
    kind         TEXT NOT NULL CHECK (kind IN ('transfer_blocked', 'kyc_ceiling', 'post_event')),
    rule         TEXT,
    tenant_id    TEXT REFERENCES tenants (id),
    environment  TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    transfer_id  TEXT REFERENCES transfers (id),
    detail       TEXT NOT NULL,
    -- A post-event rule raises one alert per pattern it finds, however often the scan runs.
    dedup_key    TEXT UNIQUE,
    status       TEXT NOT NULL CHECK (status IN ('open', 'closed')),
    created_at   INTEGER NOT NULL
) STRICT;
CREATE INDEX alerts_by_status ON alerts (status, created_at);

-- KYC: each tenant's level (no row: none) and the status of each item of evidence.
CREATE TABLE kyc_profiles (
    tenant_id   TEXT PRIMARY KEY REFERENCES tenants (id),
    level       TEXT NOT NULL CHECK (level IN ('none', 'basic', 'standard', 'enhanced')),
    updated_at  INTEGER NOT NULL
) STRICT;

CREATE TABLE kyc_items (
    tenant_id   TEXT NOT NULL REFERENCES tenants (id),
    item        TEXT NOT NULL CHECK (item IN ('email', 'phone', 'business_registration',
                    'government_id', 'address_proof', 'business_licence', 'beneficial_owners',
                    'source_of_funds', 'bank_statements', 'on_site_visit')),
    status      TEXT NOT NULL CHECK (status IN ('submitted', 'verified', 'rejected')),
    updated_at  INTEGER NOT NULL,
    PRIMARY KEY (tenant_id, item)
) STRICT;
