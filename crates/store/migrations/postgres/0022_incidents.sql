-- Security incidents (issue 20): detections over the shared state's counters open or join one
-- incident per ongoing attack (its dedup key, e.g. the client address), with the spec's clocks.

CREATE TABLE incidents (
    id              TEXT PRIMARY KEY CHECK (length(id) = 36),
    dedup_key       TEXT NOT NULL CHECK (length(dedup_key) BETWEEN 1 AND 200),
    title           TEXT NOT NULL,
    severity        TEXT NOT NULL CHECK (severity IN ('P1', 'P2', 'P3', 'P4')),
    state           TEXT NOT NULL CHECK (state IN ('open', 'acknowledged', 'contained', 'resolved')),
    client_address  TEXT,
    opened_at       BIGINT NOT NULL,
    acknowledge_by  BIGINT NOT NULL,
    contain_by      BIGINT NOT NULL,
    acknowledged_at BIGINT,
    acknowledged_by TEXT,
    contained_at    BIGINT,
    resolved_at     BIGINT,
    updated_at      BIGINT NOT NULL,
    CHECK ((state = 'open') = (acknowledged_at IS NULL))
);
-- One incident per ongoing attack: a detection on the same key joins it until it is resolved.
CREATE UNIQUE INDEX incidents_one_ongoing ON incidents (dedup_key) WHERE state <> 'resolved';
CREATE INDEX incidents_by_opened ON incidents (opened_at);

-- Each firing of a detection, linked to its incident. A detection fires at most once per
-- window per address (when its shared counter reaches the threshold), so this stays small
-- under a flood.
CREATE TABLE incident_detections (
    incident_id  TEXT NOT NULL REFERENCES incidents (id),
    detection    TEXT NOT NULL,
    severity     TEXT NOT NULL CHECK (severity IN ('P1', 'P2', 'P3', 'P4')),
    count        BIGINT NOT NULL,
    window_secs  BIGINT NOT NULL,
    fired_at     BIGINT NOT NULL
);
CREATE INDEX incident_detections_by_incident ON incident_detections (incident_id, fired_at);

-- Blocked client addresses and networks, refused at the front of the stack on every instance
-- until they expire.
CREATE TABLE address_blocks (
    id           TEXT PRIMARY KEY CHECK (length(id) = 36),
    network      TEXT NOT NULL,
    reason       TEXT NOT NULL,
    incident_id  TEXT REFERENCES incidents (id),
    created_by   TEXT NOT NULL,
    created_at   BIGINT NOT NULL,
    expires_at   BIGINT NOT NULL,
    CHECK (expires_at > created_at)
);
CREATE INDEX address_blocks_by_expiry ON address_blocks (expires_at);
