-- Issue 21: the purge permit belongs to a role, and chain ends are anchored outside.
--
-- Before: any connection could set the session setting benteng.audit_purge_until and delete
-- audit rows. Now the trigger honours that setting only for the tables' owner (or a member of
-- it), and the one way anyone else purges is `audit_purge(…)`: a SECURITY DEFINER function owned
-- by the owner, executable only by roles it is granted to (docs/operations.md grants it to
-- benteng_auditor, never to the application's role). The function leaves the checkpoint, whose
-- signature (made by `benteng audit purge` with the audit anchor key) `audit verify` checks, so
-- a checkpoint forged by someone who can write the table does not verify.

ALTER TABLE audit_checkpoints ADD COLUMN signature TEXT;

-- The key that signs chain-head anchors and purge checkpoints: ES256, its private half sealed
-- under the KEK (AAD: this table, this kid), so whoever writes this table cannot plant one.
CREATE TABLE audit_anchor_keys (
    kid         TEXT PRIMARY KEY,
    sealed_key  TEXT NOT NULL,
    created_at  BIGINT NOT NULL
);
-- A key is never replaced or removed: old anchors and checkpoints must stay verifiable.
CREATE TRIGGER audit_anchor_keys_immutable BEFORE UPDATE OR DELETE ON audit_anchor_keys
    FOR EACH ROW EXECUTE FUNCTION prevent_audit_modification();

CREATE OR REPLACE FUNCTION prevent_audit_modification() RETURNS trigger AS $$
DECLARE
    until BIGINT := NULLIF(current_setting('benteng.audit_purge_until', true), '')::BIGINT;
BEGIN
    -- The setting counts only for the owner: inside audit_purge(), which runs as the owner,
    -- or a superuser (who can switch the trigger off anyway). Nested IFs: OLD has only the
    -- columns of the table the trigger fired on.
    IF TG_OP = 'DELETE' AND until IS NOT NULL
       AND pg_has_role(current_user, (SELECT relowner FROM pg_class WHERE oid = TG_RELID), 'MEMBER') THEN
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

-- Cuts a class's chain after position `purge_cut` (whose hash must be `cut_hash`), leaving the
-- signed checkpoint; every row cut must have expired before `purge_until` (capped at the
-- database's clock) or the trigger refuses and nothing changes. Answers how many events went.
CREATE FUNCTION audit_purge(purge_class TEXT, purge_cut BIGINT, cut_hash TEXT,
                            cut_signature TEXT, purge_until BIGINT) RETURNS BIGINT AS $$
DECLARE
    now_micros BIGINT := (EXTRACT(EPOCH FROM clock_timestamp()) * 1000000)::BIGINT;
    ids TEXT[];
BEGIN
    IF purge_class NOT IN ('security', 'access', 'app') THEN
        RAISE EXCEPTION 'audit purge: unknown class %', purge_class;
    END IF;
    IF NOT EXISTS (SELECT 1 FROM audit_chain c WHERE c.retention = purge_class
                   AND c.position = purge_cut AND c.hash = cut_hash) THEN
        RAISE EXCEPTION 'audit purge: the % chain has no position % with that hash',
            purge_class, purge_cut;
    END IF;
    PERFORM set_config('benteng.audit_purge_until', LEAST(purge_until, now_micros)::TEXT, true);
    INSERT INTO audit_checkpoints (retention, position, hash, created_at, signature)
        VALUES (purge_class, purge_cut, cut_hash, now_micros, cut_signature);
    SELECT array_agg(c.event_id) INTO ids FROM audit_chain c
        WHERE c.retention = purge_class AND c.position <= purge_cut;
    DELETE FROM audit_chain c WHERE c.retention = purge_class AND c.position <= purge_cut;
    DELETE FROM audit_events e WHERE e.id = ANY(ids);
    PERFORM set_config('benteng.audit_purge_until', '', true);
    RETURN COALESCE(array_length(ids, 1), 0);
END
$$ LANGUAGE plpgsql SECURITY DEFINER;

-- A SECURITY DEFINER function names its search path (the schema the migrations ran in, temporary
-- tables last), and nobody may call it unless granted.
DO $$
BEGIN
    EXECUTE format('ALTER FUNCTION audit_purge(TEXT, BIGINT, TEXT, TEXT, BIGINT) '
                   'SET search_path = pg_catalog, %I, pg_temp', current_schema());
END
$$;
REVOKE ALL ON FUNCTION audit_purge(TEXT, BIGINT, TEXT, TEXT, BIGINT) FROM PUBLIC;
