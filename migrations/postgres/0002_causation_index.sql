-- A command's id is the causation id of the events it wrote; a retried command is recognised
-- by looking its id up here.
CREATE INDEX events_causation_id ON events (causation_id) WHERE causation_id IS NOT NULL;
