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
    size_bytes    BIGINT NOT NULL CHECK (size_bytes > 0),
    sha256        TEXT NOT NULL CHECK (length(sha256) = 64),
    document      TEXT NOT NULL,
    uploaded_by   TEXT NOT NULL,
    created_at    BIGINT NOT NULL
);
CREATE INDEX case_attachments_by_case ON case_attachments (case_id, created_at);

CREATE FUNCTION prevent_case_attachment_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'a case''s attachments are never changed';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER case_attachments_unchanged BEFORE UPDATE OR DELETE ON case_attachments
    FOR EACH ROW EXECUTE FUNCTION prevent_case_attachment_change();
