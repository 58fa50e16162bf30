-- The audit trail: immutable events, and per-retention-class hash chains sealed after commit.
CREATE TABLE audit_events (
    id             TEXT PRIMARY KEY,
    occurred_at    BIGINT NOT NULL,
    event_type     TEXT NOT NULL,
    retention      TEXT NOT NULL CHECK (retention IN ('security', 'access', 'app')),
    tenant_id      TEXT,
    document       TEXT NOT NULL,
    expires_at     BIGINT NOT NULL
);

CREATE INDEX audit_events_by_tenant ON audit_events (tenant_id, occurred_at, id);
CREATE INDEX audit_events_by_time ON audit_events (occurred_at, id);

-- One row per sealed event: its place in its class's chain and the chain hash there.
CREATE TABLE audit_chain (
    retention   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    event_id    TEXT NOT NULL UNIQUE,
    prev_hash   TEXT NOT NULL,
    hash        TEXT NOT NULL,
    sealed_at   BIGINT NOT NULL,
    PRIMARY KEY (retention, position)
);

-- Where a class's chain resumes after its expired prefix was purged.
CREATE TABLE audit_checkpoints (
    retention   TEXT NOT NULL,
    position    BIGINT NOT NULL,
    hash        TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    PRIMARY KEY (retention, position)
);

-- The spec's audit_trail_immutable: no UPDATE ever; DELETE only inside a purge (the session
-- setting benteng.audit_purge_until, set by `benteng audit purge`), and only of expired rows.
-- In production the application role also lacks DELETE on these tables (docs/operations.md).
CREATE FUNCTION prevent_audit_modification() RETURNS trigger AS $$
DECLARE
    until BIGINT := NULLIF(current_setting('benteng.audit_purge_until', true), '')::BIGINT;
BEGIN
    -- Nested IFs: OLD has only the columns of the table the trigger fired on.
    IF TG_OP = 'DELETE' AND until IS NOT NULL THEN
        IF TG_TABLE_NAME = 'audit_events' THEN
            IF OLD.expires_at < until THEN
                RETURN OLD;
            END IF;
        ELSIF TG_TABLE_NAME = 'audit_chain' THEN
            IF EXISTS (SELECT 1 FROM audit_events e
                       WHERE e.id = OLD.event_id AND e.expires_at < until) THEN
                RETURN OLD;
            END IF;
        END IF;
    END IF;
    RAISE EXCEPTION 'audit trail is append-only';
END
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_trail_immutable BEFORE UPDATE OR DELETE ON audit_events
    FOR EACH ROW EXECUTE FUNCTION prevent_audit_modification();
CREATE TRIGGER audit_chain_immutable BEFORE UPDATE OR DELETE ON audit_chain
    FOR EACH ROW EXECUTE FUNCTION prevent_audit_modification();
CREATE TRIGGER audit_checkpoints_immutable BEFORE UPDATE OR DELETE ON audit_checkpoints
    FOR EACH ROW EXECUTE FUNCTION prevent_audit_modification();
