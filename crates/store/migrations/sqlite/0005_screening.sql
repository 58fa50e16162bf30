-- Sanctions/PEP screening: stored list versions (every instance loads the same one), screening
-- decisions with their explanation, analyst clearances of false positives, and rescreening runs
-- with a checkpoint so a long run can be resumed.

-- One row per loaded version of a list. `entries` is the parsed list (JSON array of entries), so
-- every instance loads exactly this version; `added`/`changed`/`removed` are JSON arrays of entry
-- ids against the previous version of the same source (all ids are "added" for the first one).
CREATE TABLE screening_lists (
    id                TEXT PRIMARY KEY,
    source            TEXT NOT NULL,
    version           TEXT NOT NULL CHECK (length(version) = 64),
    previous_version  TEXT,
    entry_count       INTEGER NOT NULL CHECK (entry_count >= 0),
    entries           TEXT NOT NULL,
    added             TEXT NOT NULL,
    changed           TEXT NOT NULL,
    removed           TEXT NOT NULL,
    loaded_at         INTEGER NOT NULL
) STRICT;

CREATE INDEX screening_lists_by_source ON screening_lists (source, loaded_at, id);

-- Every screening decision: of a transfer's parties (same transaction as the transfer), of a
-- rescreen, of a list update. `explanation` is JSON (matches: list, entry id, matched name,
-- method, score; cleared matches are marked).
CREATE TABLE screening_decisions (
    id           TEXT PRIMARY KEY,
    party_type   TEXT NOT NULL CHECK (party_type IN ('tenant', 'recipient')),
    party_id     TEXT NOT NULL,
    transfer_id  TEXT,
    occasion     TEXT NOT NULL CHECK (occasion IN ('transfer', 'rescreen', 'list_update')),
    score        INTEGER NOT NULL CHECK (score BETWEEN 0 AND 100),
    verdict      TEXT NOT NULL CHECK (verdict IN ('approve', 'review', 'block')),
    explanation  TEXT NOT NULL,
    at           INTEGER NOT NULL
) STRICT;

CREATE INDEX screening_decisions_by_party ON screening_decisions (party_type, party_id, at);
CREATE INDEX screening_decisions_by_transfer ON screening_decisions (transfer_id);

-- An analyst's decision that a (party, list entry) pair is a false positive. It holds only while
-- the entry's content hash is unchanged.
CREATE TABLE screening_clearances (
    id           TEXT PRIMARY KEY,
    party_type   TEXT NOT NULL CHECK (party_type IN ('tenant', 'recipient')),
    party_id     TEXT NOT NULL,
    source       TEXT NOT NULL,
    entry_id     TEXT NOT NULL,
    entry_hash   TEXT NOT NULL CHECK (length(entry_hash) = 64),
    reason       TEXT NOT NULL,
    cleared_by   TEXT NOT NULL,
    cleared_at   INTEGER NOT NULL
) STRICT;

CREATE INDEX screening_clearances_by_pair
    ON screening_clearances (party_type, party_id, source, entry_id, cleared_at);

-- Rescreening runs. `checkpoint` is the last party done (`tenant:ID` or `recipient:ID`); an
-- unfinished run resumes after it.
CREATE TABLE screening_runs (
    id            TEXT PRIMARY KEY,
    run_key       TEXT NOT NULL UNIQUE,
    kind          TEXT NOT NULL CHECK (kind IN ('full', 'delta')),
    list_id       TEXT REFERENCES screening_lists (id),
    total         INTEGER NOT NULL,
    done          INTEGER NOT NULL DEFAULT 0,
    hits          INTEGER NOT NULL DEFAULT 0,
    checkpoint    TEXT,
    started_at    INTEGER NOT NULL,
    updated_at    INTEGER NOT NULL,
    finished_at   INTEGER
) STRICT;
