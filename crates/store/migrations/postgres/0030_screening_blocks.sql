-- Confirmed screening hits (issue 15): a party whose hit a compliance officer confirmed as a
-- true match (four eyes, on its screening case) is blocked for every future transfer until a
-- compliance officer clears it. Written in the approval's transaction, with the case closed.
CREATE TABLE screening_blocks (
    id            TEXT PRIMARY KEY CHECK (length(id) = 36),
    party_type    TEXT NOT NULL CHECK (party_type IN ('tenant', 'recipient')),
    party_id      TEXT NOT NULL CHECK (length(party_id) = 36),
    case_id       TEXT NOT NULL REFERENCES cases (id),
    proposed_by   TEXT NOT NULL REFERENCES people (id),
    approved_by   TEXT NOT NULL REFERENCES people (id),
    blocked_at    BIGINT NOT NULL,
    cleared_by    TEXT REFERENCES people (id),
    cleared_at    BIGINT,
    clear_reason  TEXT,
    CHECK (proposed_by <> approved_by),
    CHECK ((cleared_at IS NULL) = (cleared_by IS NULL)),
    CHECK ((cleared_at IS NULL) = (clear_reason IS NULL))
);
-- One block in force per party.
CREATE UNIQUE INDEX screening_blocks_in_force ON screening_blocks (party_type, party_id)
    WHERE cleared_at IS NULL;
