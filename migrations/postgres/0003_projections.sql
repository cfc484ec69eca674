-- Read models, rebuilt from the event log at any time (styr projections rebuild).
-- A projection's rows and its checkpoint change in one transaction, so each event takes effect
-- exactly once, also after a crash.
CREATE TABLE projection_checkpoints (
    name     TEXT PRIMARY KEY,
    position BIGINT NOT NULL
);
INSERT INTO projection_checkpoints (name, position) VALUES ('board', 0);

-- The assignment board: one row per assignment, its current state flattened for filtering.
-- Dates are ISO 8601 text (they sort as dates); "overdue" depends on today and is computed
-- when queried.
CREATE TABLE board_assignments (
    assignment_id     TEXT PRIMARY KEY,
    reference         TEXT,
    title             TEXT NOT NULL,
    year              BIGINT NOT NULL,
    ministry          TEXT NOT NULL,
    agency            TEXT NOT NULL,
    department        TEXT,
    goal              TEXT,
    status            TEXT NOT NULL,
    lifecycle         TEXT NOT NULL,
    traffic_light     TEXT,
    next_deadline     TEXT,
    deadline_to_be_agreed BOOLEAN NOT NULL,
    search_text       TEXT NOT NULL,
    updated_position  BIGINT NOT NULL,
    updated_at        TEXT NOT NULL
);
CREATE INDEX board_by_agency ON board_assignments (agency, year);
CREATE INDEX board_by_ministry ON board_assignments (ministry, year);
CREATE INDEX board_by_deadline ON board_assignments (next_deadline);
CREATE INDEX board_by_status ON board_assignments (status);
