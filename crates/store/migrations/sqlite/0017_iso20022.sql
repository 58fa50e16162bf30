-- ISO 20022 (issue 19). The platform's XMLDSig signing keys: RSA ≥ 3072 PKCS#8, wrapped by the
-- key-encryption key like the data keys (never stored in clear), with the DER certificate
-- counterparties register. The newest key signs; older ones stay for the rotation overlap.
CREATE TABLE iso20022_signing_keys (
    id           TEXT PRIMARY KEY CHECK (length(id) = 36),
    kek_id       TEXT NOT NULL,
    wrapped_key  TEXT NOT NULL,
    certificate  TEXT NOT NULL,
    created_at   INTEGER NOT NULL,
    retired_at   INTEGER
) STRICT;

-- Signed messages exactly as sent or received (the signed bytes are never re-serialized).
-- One outgoing pacs.008 per transfer.
CREATE TABLE iso20022_messages (
    message_id      TEXT PRIMARY KEY CHECK (length(message_id) BETWEEN 1 AND 35),
    kind            TEXT NOT NULL,
    direction       TEXT NOT NULL CHECK (direction IN ('out', 'in')),
    transfer_id     TEXT,
    tenant_id       TEXT,
    signing_key_id  TEXT,
    counterparty    TEXT,
    signed_xml      TEXT NOT NULL,
    created_at      INTEGER NOT NULL
) STRICT;
CREATE UNIQUE INDEX iso20022_messages_one_per_transfer
    ON iso20022_messages (transfer_id, kind) WHERE direction = 'out';
