-- As-of queries find the last position recorded by an instant; recorded_at never decreases
-- along the log, so this index also orders it by position.
CREATE INDEX IF NOT EXISTS events_recorded_at ON events (recorded_at);
