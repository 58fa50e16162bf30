-- Issue 21: purge checkpoints are signed, and chain ends are anchored outside the database.
-- SQLite has no roles: whoever can write the file can purge (docs/operations.md says what
-- holds there); the checkpoint's signature and the anchors are what detect a forged purge.

ALTER TABLE audit_checkpoints ADD COLUMN signature TEXT;

-- The key that signs chain-head anchors and purge checkpoints: ES256, its private half sealed
-- under the KEK (AAD: this table, this kid), so whoever writes this table cannot plant one.
CREATE TABLE audit_anchor_keys (
    kid         TEXT PRIMARY KEY,
    sealed_key  TEXT NOT NULL,
    created_at  INTEGER NOT NULL
) STRICT;
-- A key is never replaced or removed: old anchors and checkpoints must stay verifiable.
CREATE TRIGGER audit_anchor_keys_immutable BEFORE UPDATE ON audit_anchor_keys
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
CREATE TRIGGER audit_anchor_keys_undeletable BEFORE DELETE ON audit_anchor_keys
BEGIN SELECT RAISE(ABORT, 'audit trail is append-only'); END;
