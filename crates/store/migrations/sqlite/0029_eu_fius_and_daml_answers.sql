-- benteng: rebuild
-- Regulatory reports (issue 16, continued): reports to EU FIUs, and the NCA's answers to a
-- DAML request.
--
-- An `eu_sar` goes to the FIU of one member state (`fiu_country`, configured under
-- `[reports.fius]`). A submitted UK SAR asking for a defence records the NCA's answer as an
-- officer enters it: consent granted, consent refused (a moratorium of 31 days, ending at
-- `daml_moratorium_ends_at`), or consent deemed (no refusal within the notice period, or the
-- moratorium over). Once consent is granted or deemed the answer is final (a trigger says so).
--
-- SQLite cannot change a CHECK in place, so reports is rebuilt (SQLite's twelve steps; the
-- first line asks the runner to turn foreign keys off around the script and to run
-- foreign_key_check before commit). Its triggers and indexes go with the old table and are
-- made again below.
CREATE TABLE reports_rebuilt (
    id              TEXT PRIMARY KEY CHECK (length(id) = 36),
    kind            TEXT NOT NULL CHECK (kind IN ('ltkm', 'uk_sar', 'eu_sar')),
    case_id         TEXT REFERENCES cases (id),
    status          TEXT NOT NULL CHECK (status IN ('draft', 'approved', 'submitted', 'withdrawn')),
    version         INTEGER NOT NULL CHECK (version > 0),
    content_sealed  TEXT NOT NULL,
    content_sha256  TEXT NOT NULL CHECK (length(content_sha256) = 64),
    created_by      TEXT NOT NULL REFERENCES people (id),
    created_at      INTEGER NOT NULL,
    updated_by      TEXT NOT NULL REFERENCES people (id),
    updated_at      INTEGER NOT NULL,
    approval_id     TEXT REFERENCES pending_actions (id),
    approved_by     TEXT REFERENCES people (id),
    approved_at     INTEGER,
    submitted_at    INTEGER,
    fiu_reference   TEXT,
    withdrawn_at    INTEGER,
    supersedes      TEXT REFERENCES reports (id),
    superseded_by   TEXT REFERENCES reports (id),
    due_at          INTEGER NOT NULL,
    warn_at         INTEGER NOT NULL,
    -- A UK SAR with a DAML request: when the NCA's 7 working days run out (set on submission).
    daml_due_at     INTEGER,
    -- An EU report: the member state whose FIU it goes to (ISO 3166 alpha-2).
    fiu_country     TEXT CHECK (length(fiu_country) = 2),
    -- The NCA's latest answer to the DAML request, who recorded it and when.
    daml_answer     TEXT CHECK (daml_answer IN ('granted', 'refused', 'deemed')),
    daml_answered_at INTEGER,
    daml_answered_by TEXT REFERENCES people (id),
    -- Set by a refusal: the end of its 31-day moratorium.
    daml_moratorium_ends_at INTEGER,
    -- The second officer is not the one who last wrote the content.
    CHECK (approved_by IS NULL OR approved_by <> updated_by),
    CHECK (status NOT IN ('approved', 'submitted') OR approved_by IS NOT NULL),
    CHECK ((status = 'submitted') = (fiu_reference IS NOT NULL)),
    CHECK ((status = 'withdrawn') = (withdrawn_at IS NOT NULL)),
    CHECK ((kind = 'eu_sar') = (fiu_country IS NOT NULL)),
    CHECK (daml_answer IS NULL OR (daml_due_at IS NOT NULL AND status = 'submitted'
        AND daml_answered_at IS NOT NULL AND daml_answered_by IS NOT NULL)),
    CHECK (daml_answer IS NULL OR daml_answer <> 'refused' OR daml_moratorium_ends_at IS NOT NULL)
) STRICT;
INSERT INTO reports_rebuilt (id, kind, case_id, status, version, content_sealed, content_sha256,
    created_by, created_at, updated_by, updated_at, approval_id, approved_by, approved_at,
    submitted_at, fiu_reference, withdrawn_at, supersedes, superseded_by, due_at, warn_at,
    daml_due_at)
SELECT id, kind, case_id, status, version, content_sealed, content_sha256, created_by,
    created_at, updated_by, updated_at, approval_id, approved_by, approved_at, submitted_at,
    fiu_reference, withdrawn_at, supersedes, superseded_by, due_at, warn_at, daml_due_at
FROM reports;
DROP TABLE reports;
ALTER TABLE reports_rebuilt RENAME TO reports;
CREATE INDEX reports_by_status_due ON reports (status, due_at);
CREATE INDEX reports_by_case ON reports (case_id);
-- A report is superseded at most once.
CREATE UNIQUE INDEX reports_supersedes ON reports (supersedes) WHERE supersedes IS NOT NULL;

CREATE TRIGGER reports_frozen BEFORE UPDATE ON reports
WHEN OLD.status IN ('submitted', 'withdrawn') AND (
    NEW.status <> OLD.status
    OR NEW.content_sealed <> OLD.content_sealed
    OR NEW.version <> OLD.version
    OR NEW.fiu_reference IS NOT OLD.fiu_reference
    OR NEW.approved_by IS NOT OLD.approved_by
    OR NEW.fiu_country IS NOT OLD.fiu_country
    OR NEW.daml_due_at IS NOT OLD.daml_due_at
    OR (OLD.superseded_by IS NOT NULL AND NEW.superseded_by IS NOT OLD.superseded_by)
)
BEGIN SELECT RAISE(ABORT, 'a submitted or withdrawn report cannot be changed, only superseded'); END;
CREATE TRIGGER reports_daml_settled BEFORE UPDATE ON reports
WHEN OLD.daml_answer IN ('granted', 'deemed') AND (
    NEW.daml_answer IS NOT OLD.daml_answer
    OR NEW.daml_answered_at IS NOT OLD.daml_answered_at
    OR NEW.daml_moratorium_ends_at IS NOT OLD.daml_moratorium_ends_at
)
BEGIN SELECT RAISE(ABORT, 'consent to a DAML request was given; the answer is final'); END;
CREATE TRIGGER reports_undeletable BEFORE DELETE ON reports
BEGIN SELECT RAISE(ABORT, 'reports are never deleted'); END;
