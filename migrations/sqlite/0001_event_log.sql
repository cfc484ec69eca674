-- The event log: the only source of truth. Append-only; one hash chain over the global position.
-- Timestamps are RFC 3339 UTC text with six fractional digits; UUIDs are lowercase hyphenated text.
CREATE TABLE events (
    stream_type    TEXT    NOT NULL,
    stream_id      TEXT    NOT NULL,
    version        INTEGER NOT NULL CHECK (version >= 1),
    position       INTEGER NOT NULL UNIQUE CHECK (position >= 1),
    event_id       TEXT    NOT NULL UNIQUE,
    event_type     TEXT    NOT NULL,
    schema_version INTEGER NOT NULL,
    payload        TEXT    NOT NULL,
    actor_subject  TEXT    NOT NULL,
    actor_name     TEXT    NOT NULL,
    actor_role     TEXT    NOT NULL,
    actor_org      TEXT    NOT NULL,
    reason         TEXT,
    correlation_id TEXT    NOT NULL,
    causation_id   TEXT,
    recorded_at    TEXT    NOT NULL,
    effective_at   TEXT    NOT NULL,
    prev_hash      TEXT    NOT NULL,
    hash           TEXT    NOT NULL,
    PRIMARY KEY (stream_type, stream_id, version)
) WITHOUT ROWID;

-- Single-row head of the log; SQLite has one writer at a time, the row keeps the chain's tip.
CREATE TABLE log_head (
    id       INTEGER PRIMARY KEY CHECK (id = 1),
    position INTEGER NOT NULL,
    hash     TEXT    NOT NULL
);
INSERT INTO log_head (id, position, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: UPDATE on events is not allowed');
END;

CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'the event log is append-only: DELETE on events is not allowed');
END;
