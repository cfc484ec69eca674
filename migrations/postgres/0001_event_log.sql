-- The event log: the only source of truth. Append-only; one hash chain over the global position.
CREATE TABLE events (
    stream_type    TEXT        NOT NULL,
    stream_id      TEXT        NOT NULL,
    version        BIGINT      NOT NULL CHECK (version >= 1),
    position       BIGINT      NOT NULL UNIQUE CHECK (position >= 1),
    event_id       UUID        NOT NULL UNIQUE,
    event_type     TEXT        NOT NULL,
    schema_version INTEGER     NOT NULL,
    payload        TEXT        NOT NULL,
    actor_subject  TEXT        NOT NULL,
    actor_name     TEXT        NOT NULL,
    actor_role     TEXT        NOT NULL,
    actor_org      TEXT        NOT NULL,
    reason         TEXT,
    correlation_id UUID        NOT NULL,
    causation_id   UUID,
    recorded_at    TIMESTAMPTZ NOT NULL,
    effective_at   TIMESTAMPTZ NOT NULL,
    prev_hash      TEXT        NOT NULL,
    hash           TEXT        NOT NULL,
    -- Optimistic concurrency: two writers that read the same version collide here.
    PRIMARY KEY (stream_type, stream_id, version)
);

-- The head of the log. Every append updates this single row inside its transaction, so the row lock
-- orders writers: positions are handed out, chained and committed strictly in order.
CREATE TABLE log_head (
    id       SMALLINT PRIMARY KEY CHECK (id = 1),
    position BIGINT   NOT NULL,
    hash     TEXT     NOT NULL
);
INSERT INTO log_head (id, position, hash)
VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

CREATE FUNCTION styr_events_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the event log is append-only: % on events is not allowed', TG_OP
        USING ERRCODE = 'P0001';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER events_append_only
    BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION styr_events_append_only();

CREATE TRIGGER events_no_truncate
    BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION styr_events_append_only();
