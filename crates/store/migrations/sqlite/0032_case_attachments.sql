-- Case attachments (issue 15): files staff add to a case, sealed like KYC documents (chunks of
-- envelope-encrypted values whose AAD names tenant, table, column and "ROW_ID/CHUNK", joined by
-- newlines; the SHA-256 of the clear bytes is checked after opening). Added to an open case
-- only, in the transaction of the case's log entry and the audit event; never changed after.

CREATE TABLE case_attachments (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    case_id       TEXT NOT NULL REFERENCES cases (id),
    filename      TEXT NOT NULL CHECK (length(filename) BETWEEN 1 AND 200),
    content_type  TEXT NOT NULL CHECK (content_type IN ('application/pdf', 'image/png',
                      'image/jpeg', 'text/plain', 'text/csv')),
    size_bytes    INTEGER NOT NULL CHECK (size_bytes > 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    document      TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;
CREATE INDEX case_attachments_by_case ON case_attachments (case_id, created_at);

CREATE TRIGGER case_attachments_immutable BEFORE UPDATE ON case_attachments
BEGIN SELECT RAISE(ABORT, 'a case''s attachments are never changed'); END;
CREATE TRIGGER case_attachments_undeletable BEFORE DELETE ON case_attachments
BEGIN SELECT RAISE(ABORT, 'a case''s attachments are never changed'); END;
