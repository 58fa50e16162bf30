-- Data-encryption keys (DEKs), wrapped by the key-encryption key (KEK). Never stored in clear.
CREATE TABLE data_keys (
    id          TEXT PRIMARY KEY,
    purpose     TEXT NOT NULL,
    kek_id      TEXT NOT NULL,
    wrapped     TEXT NOT NULL,
    created_at  BIGINT NOT NULL,
    retired_at  BIGINT
);

CREATE INDEX data_keys_by_purpose ON data_keys (purpose, created_at);
