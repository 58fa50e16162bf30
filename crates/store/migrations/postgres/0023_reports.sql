-- Regulatory reports (issue 16): drafts a compliance officer starts from a case, approved by a
-- second officer (a four-eyes pending action), then submitted to the FIU (its reference
-- recorded) or withdrawn. The content is sealed JSON (vault envelope encryption, AAD bound to
-- the report's row); nothing here is ever shown to a tenant. A submitted or withdrawn report
-- is frozen: it can only be superseded by a new draft (the triggers say it again).

CREATE TABLE reports (
    id              TEXT PRIMARY KEY CHECK (length(id) = 36),
    kind            TEXT NOT NULL CHECK (kind IN ('ltkm', 'uk_sar')),
    case_id         TEXT REFERENCES cases (id),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'submitted', 'withdrawn')),
    version         BIGINT NOT NULL CHECK (version > 0),
    content_sealed  TEXT NOT NULL,
    content_sha256  TEXT NOT NULL CHECK (length(content_sha256) = 64),
    created_by      TEXT NOT NULL REFERENCES people (id),
    created_at      BIGINT NOT NULL,
    updated_by      TEXT NOT NULL REFERENCES people (id),
    updated_at      BIGINT NOT NULL,
    approval_id     TEXT REFERENCES pending_actions (id),
    approved_by     TEXT REFERENCES people (id),
    approved_at     BIGINT,
    submitted_at    BIGINT,
    fiu_reference   TEXT,
    withdrawn_at    BIGINT,
    supersedes      TEXT REFERENCES reports (id),
    superseded_by   TEXT REFERENCES reports (id),
    due_at          BIGINT NOT NULL,
    warn_at         BIGINT NOT NULL,
    -- A UK SAR with a DAML request: when the NCA's 7 working days run out (set on submission).
    daml_due_at     BIGINT,
    -- The second officer is not the one who last wrote the content.
    CHECK (approved_by IS NULL OR approved_by <> updated_by),
    CHECK (status NOT IN ('approved', 'submitted') OR approved_by IS NOT NULL),
    CHECK ((status = 'submitted') = (fiu_reference IS NOT NULL)),
    CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL))
);
CREATE INDEX reports_by_status_due ON reports (status, due_at);
CREATE INDEX reports_by_case ON reports (case_id);
-- A report is superseded at most once.
CREATE UNIQUE INDEX reports_supersedes ON reports (supersedes) WHERE supersedes IS NOT NULL;

CREATE FUNCTION guard_report_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'reports are never deleted';
    END IF;
    IF OLD.status IN ('submitted', 'withdrawn') AND (
        NEW.status <> OLD.status
        OR NEW.content_sealed <> OLD.content_sealed
        OR NEW.version <> OLD.version
        OR NEW.fiu_reference IS DISTINCT FROM OLD.fiu_reference
        OR NEW.approved_by IS DISTINCT FROM OLD.approved_by
        OR (OLD.superseded_by IS NOT NULL AND NEW.superseded_by IS DISTINCT FROM OLD.superseded_by)
    ) THEN
        RAISE EXCEPTION 'a submitted or withdrawn report cannot be changed, only superseded';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER reports_frozen BEFORE UPDATE OR DELETE ON reports
    FOR EACH ROW EXECUTE FUNCTION guard_report_change();
