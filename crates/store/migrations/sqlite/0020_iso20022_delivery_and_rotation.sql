-- ISO 20022 (issue 19, second part).
-- Rotation with overlap: a signing key signs from `signs_from`; a key made by a rotation is
-- given to the counterparties first and signs only after the overlap. Keys made before this
-- migration signed from their creation.
ALTER TABLE iso20022_signing_keys ADD COLUMN signs_from INTEGER;
UPDATE iso20022_signing_keys SET signs_from = created_at;

-- When an outgoing message was handed over (written to the file drop, or accepted by the
-- counterparty's HTTPS endpoint). NULL: not yet; the rail sends the same stored bytes again.
ALTER TABLE iso20022_messages ADD COLUMN delivered_at INTEGER;
UPDATE iso20022_messages SET delivered_at = created_at WHERE direction = 'out';
