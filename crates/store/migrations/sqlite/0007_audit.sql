-- The audit trail: immutable events, and per-retention-class hash chains sealed after commit.
CREATE TABLE audit_events (
    id             TEXT PRIMARY KEY,
    occurred_at    INTEGER NOT NULL,
    event_type     TEXT NOT NULL,
    retention      TEXT NOT NULL CHECK (retention IN ('security', 'access', 'app')),
    tenant_id      TEXT,
    document       TEXT NOT NULL,
    expires_at     INTEGER NOT NULL
) STRICT;

CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, occurred_at, id);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at, id);

-- One row per sealed event: its place in its class's chain and the chain hash there.
CREATE TABLE audit_chain (
    retention   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    event_id    TEXT NOT NULL UNIQUE,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    sealed_at   INTEGER NOT NULL,
    PRIMARY KEY (retention, position)
) STRICT;

-- Where a class's chain resumes after its expired prefix was purged.
CREATE TABLE audit_checkpoints (
    retention   TEXT NOT NULL,
    position    INTEGER NOT NULL,
    hash        TEXT NOT NULL,
    created_at  INTEGER NOT NULL,
    PRIMARY KEY (retention, position)
) STRICT;

-- Present only inside a purge transaction: the one way rows may be deleted, and only rows
-- that expired before `until`.
CREATE TABLE audit_purge_permit (
    until INTEGER NOT NULL
) STRICT;

CREATE TRIGGER audit_events_immutable BEFORE UPDATE ON audit_events
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_chain_immutable BEFORE UPDATE ON audit_chain
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_checkpoints_immutable BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_checkpoints_undeletable BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_events_undeletable BEFORE DELETE ON audit_events
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit WHERE OLD.expires_at < until)
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_chain_undeletable BEFORE DELETE ON audit_chain
WHEN NOT EXISTS (SELECT 1 FROM audit_purge_permit p JOIN audit_events e ON e.id = OLD.event_id
                 WHERE e.expires_at < p.until)
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
