//! `events.jsonl`: one event per line, with every envelope field and the payload embedded as
//! the exact canonical text that was hashed, so a line can be re-imported verbatim and its hash
//! recomputed. Reading a line back gives the [`RecordedEvent`] that was written.

use std::io::BufRead;
use std::path::Path;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;
use styr_eventstore::{Actor, RecordedEvent, StreamId, format_timestamp};
use uuid::Uuid;

use super::ExportError;

#[derive(Serialize)]
struct LineOut<'a> {
    position: u64,
    event_id: Uuid,
    stream_type: &'a str,
    stream_id: &'a str,
    version: u64,
    event_type: &'a str,
    schema_version: u32,
    actor: &'a Actor,
    reason: Option<&'a str>,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    recorded_at: String,
    effective_at: String,
    prev_hash: &'a str,
    hash: &'a str,
    payload: &'a RawValue,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct LineIn {
    position: u64,
    event_id: Uuid,
    stream_type: String,
    stream_id: String,
    version: u64,
    event_type: String,
    schema_version: u32,
    actor: Actor,
    reason: Option<String>,
    correlation_id: Uuid,
    causation_id: Option<Uuid>,
    recorded_at: String,
    effective_at: String,
    prev_hash: String,
    hash: String,
    payload: Box<RawValue>,
}

/// One line of `events.jsonl` (without the line break).
pub fn event_line(e: &RecordedEvent) -> Result<String, ExportError> {
    let payload: &RawValue = serde_json::from_str(&e.payload_text).map_err(|err| {
        ExportError::Damaged(format!(
            "the payload at position {} is not JSON: {err}",
            e.position
        ))
    })?;
    let line = LineOut {
        position: e.position,
        event_id: e.event_id,
        stream_type: e.stream.stream_type(),
        stream_id: e.stream.id(),
        version: e.version,
        event_type: &e.event_type,
        schema_version: e.schema_version,
        actor: &e.actor,
        reason: e.reason.as_deref(),
        correlation_id: e.correlation_id,
        causation_id: e.causation_id,
        recorded_at: format_timestamp(&e.recorded_at),
        effective_at: format_timestamp(&e.effective_at),
        prev_hash: &e.prev_hash,
        hash: &e.hash,
        payload,
    };
    serde_json::to_string(&line).map_err(|err| {
        ExportError::Damaged(format!(
            "the event at position {} cannot be written: {err}",
            e.position
        ))
    })
}

/// Reads one line of `events.jsonl` back into the event as it was recorded, payload text
/// included.
pub fn parse_event_line(line: &str) -> Result<RecordedEvent, String> {
    let l: LineIn = serde_json::from_str(line).map_err(|e| e.to_string())?;
    let timestamp = |field: &str, s: &str| -> Result<DateTime<Utc>, String> {
        DateTime::parse_from_rfc3339(s)
            .map(|t| t.with_timezone(&Utc))
            .map_err(|e| format!("{field} {s:?}: {e}"))
    };
    let payload_text = l.payload.get().to_owned();
    Ok(RecordedEvent {
        position: l.position,
        event_id: l.event_id,
        stream: StreamId::new(l.stream_type, l.stream_id).map_err(|e| e.to_string())?,
        version: l.version,
        event_type: l.event_type,
        schema_version: l.schema_version,
        payload: serde_json::from_str(&payload_text).map_err(|e| e.to_string())?,
        payload_text,
        actor: l.actor,
        reason: l.reason,
        correlation_id: l.correlation_id,
        causation_id: l.causation_id,
        recorded_at: timestamp("recorded_at", &l.recorded_at)?,
        effective_at: timestamp("effective_at", &l.effective_at)?,
        prev_hash: l.prev_hash,
        hash: l.hash,
    })
}

/// Every event of an `events.jsonl` file, in file order (for re-import with
/// [`styr_eventstore::EventStore::import_verbatim`]).
pub fn read_events_jsonl(path: &Path) -> Result<Vec<RecordedEvent>, ExportError> {
    let io = |source| ExportError::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut events = Vec::new();
    for (i, line) in std::io::BufReader::new(file).lines().enumerate() {
        let line = line.map_err(io)?;
        let event = parse_event_line(&line)
            .map_err(|e| ExportError::Damaged(format!("{} line {}: {e}", path.display(), i + 1)))?;
        events.push(event);
    }
    Ok(events)
}
