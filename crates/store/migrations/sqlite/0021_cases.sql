-- Compliance cases (issue 15): one party's matters of one subject, worked by staff in the
-- console and the operator API. A held transfer opens or joins its recipient's open payments
-- case in the transaction that holds it; the event log is append-only.

CREATE TABLE cases (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    subject       TEXT NOT NULL CHECK (subject IN ('payments', 'screening', 'monitoring', 'kyc')),
    party_kind    TEXT NOT NULL CHECK (party_kind IN ('recipient', 'tenant')),
    party_id      TEXT NOT NULL CHECK (length(party_id) = 36),
    tenant_id     TEXT NOT NULL REFERENCES tenants (id),
    environment   TEXT NOT NULL CHECK (environment IN ('live', 'test')),
    inbox         TEXT NOT NULL,
    status        TEXT NOT NULL CHECK (status IN ('open', 'investigating', 'waiting', 'closed')),
    outcome       TEXT CHECK (outcome IN ('false_positive', 'true_positive', 'inconclusive')),
    assignee      TEXT REFERENCES people (id),
    priority      INTEGER NOT NULL CHECK (priority BETWEEN 0 AND 100),
    sla_due_at    INTEGER NOT NULL,
    opened_at     INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    closed_at     INTEGER,
    CHECK ((status = 'closed') = (closed_at IS NOT NULL)),
    CHECK (status = 'closed' OR outcome IS NULL)
) STRICT;
-- At most one open case per party and subject: a second matter joins it.
CREATE UNIQUE INDEX cases_one_open ON cases (party_kind, party_id, subject)
    WHERE status <> 'closed';
CREATE INDEX cases_by_status_sla ON cases (status, sla_due_at);
CREATE INDEX cases_by_status_priority ON cases (status, priority);

-- What a case gathers: each matter belongs to one case.
CREATE TABLE case_items (
    case_id       TEXT NOT NULL REFERENCES cases (id),
    kind          TEXT NOT NULL CHECK (kind IN ('transfer', 'alert', 'screening_hit', 'kyc_upgrade')),
    item_id       TEXT NOT NULL,
    added_at      INTEGER NOT NULL,
    PRIMARY KEY (kind, item_id)
) STRICT;
CREATE INDEX case_items_by_case ON case_items (case_id, added_at);

-- Who did what on a case, when, and why: appended only.
CREATE TABLE case_events (
    case_id       TEXT NOT NULL REFERENCES cases (id),
    seq           INTEGER NOT NULL CHECK (seq > 0),
    at            INTEGER NOT NULL,
    actor         TEXT NOT NULL,
    kind          TEXT NOT NULL,
    comment       TEXT,
    data          TEXT,
    PRIMARY KEY (case_id, seq)
) STRICT;
CREATE TRIGGER case_events_immutable BEFORE UPDATE ON case_events
BEGIN SELECT RAISE(ABORT, 'a case''s event log is append-only'); END;
CREATE TRIGGER case_events_undeletable BEFORE DELETE ON case_events
BEGIN SELECT RAISE(ABORT, 'a case''s event log is append-only'); END;
