-- People who sign in: platform staff (tenant_id NULL) and tenant users, their browser sessions,
-- their one-time recovery codes, and four-eyes pending actions. Secrets are never stored in
-- clear: passwords as Argon2id PHC strings, TOTP secrets sealed under the API-secret data key,
-- session tokens, enrolment codes and recovery codes as keyed hashes (HMAC-SHA-256, hex).
CREATE TABLE people (
    id                    TEXT PRIMARY KEY CHECK (length(id) = 36),
    login                 TEXT NOT NULL UNIQUE CHECK (length(login) BETWEEN 3 AND 64),
    tenant_id             TEXT REFERENCES tenants (id),
    tenant_role           TEXT CHECK (tenant_role IN ('owner', 'payer', 'viewer')),
    -- Staff roles, names separated by single spaces.
    roles                 TEXT NOT NULL DEFAULT '',
    status                TEXT NOT NULL CHECK (status IN ('enrolling', 'active', 'disabled')),
    password_hash         TEXT,
    totp_sealed           TEXT,
    -- The TOTP secret offered during enrolment, until a code from it is confirmed.
    totp_pending_sealed   TEXT,
    -- The last TOTP time step accepted: a code is accepted once.
    totp_last_step        INTEGER NOT NULL DEFAULT 0,
    enrolment_hash        TEXT UNIQUE CHECK (length(enrolment_hash) = 64 AND enrolment_hash NOT GLOB '*[^0-9a-f]*'),
    enrolment_expires_at  INTEGER,
    created_at            INTEGER NOT NULL,
    -- Bumped on every change that affects sign-in or permissions, so session caches notice.
    updated_at            INTEGER NOT NULL,
    CHECK ((tenant_id IS NULL) = (tenant_role IS NULL))
) STRICT;
CREATE INDEX people_by_update ON people (updated_at);

CREATE TABLE recovery_codes (
    person_id   TEXT NOT NULL REFERENCES people (id),
    code_hash   TEXT NOT NULL CHECK (length(code_hash) = 64 AND code_hash NOT GLOB '*[^0-9a-f]*'),
    created_at  INTEGER NOT NULL,
    used_at     INTEGER,
    PRIMARY KEY (person_id, code_hash)
) STRICT;

CREATE TABLE sessions (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    token_hash    TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
    person_id     TEXT NOT NULL REFERENCES people (id),
    ip            TEXT,
    created_at    INTEGER NOT NULL,
    last_seen_at  INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER
) STRICT;
CREATE INDEX sessions_by_person ON sessions (person_id, created_at);
CREATE INDEX sessions_by_revocation ON sessions (revoked_at);

CREATE TABLE pending_actions (
    id           TEXT PRIMARY KEY CHECK (length(id) = 36),
    kind         TEXT NOT NULL,
    -- What the action changes, as JSON (the tenant and tier, the person and role...).
    payload      TEXT NOT NULL,
    status       TEXT NOT NULL CHECK (status IN ('pending', 'approved', 'rejected', 'expired')),
    proposed_by  TEXT NOT NULL REFERENCES people (id),
    proposed_at  INTEGER NOT NULL,
    expires_at   INTEGER NOT NULL,
    decided_by   TEXT REFERENCES people (id),
    decided_at   INTEGER,
    CHECK (decided_by IS NULL OR decided_by <> proposed_by)
) STRICT;
CREATE INDEX pending_actions_by_status ON pending_actions (status, proposed_at);
