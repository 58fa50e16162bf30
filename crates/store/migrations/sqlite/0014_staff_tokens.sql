-- Staff API tokens: automation's credential on the operator API. The token itself is never
-- stored: token_hash is its keyed hash (HMAC-SHA-256 under the server secret, hex). A token
-- may do what its permissions name and what its person's roles grant at the time of each
-- request, whichever is less.
CREATE TABLE staff_tokens (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    person_id     TEXT NOT NULL REFERENCES people (id),
    name          TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    token_hash    TEXT NOT NULL UNIQUE CHECK (length(token_hash) = 64 AND token_hash NOT GLOB '*[^0-9a-f]*'),
    -- Permission names separated by single spaces; never empty.
    permissions   TEXT NOT NULL CHECK (permissions <> ''),
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    revoked_at    INTEGER,
    last_used_at  INTEGER,
    CHECK (expires_at > created_at)
) STRICT;
CREATE INDEX staff_tokens_by_person ON staff_tokens (person_id, created_at);
-- The session watermark includes the latest token revocation.
CREATE INDEX staff_tokens_by_revocation ON staff_tokens (revoked_at);
