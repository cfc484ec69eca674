//! Checks for [`crate::EventStore::import_verbatim`]: an extract of already-recorded events is
//! accepted only if it is an intact piece of a chain and continues the target store's chain
//! exactly. Everything that can be checked without the database is checked here, before a
//! transaction starts; the backends check the head and stream versions under the head lock.

use std::collections::HashMap;

use crate::chain::recompute_hash;
use crate::error::StoreError;
use crate::types::{LogHead, RecordedEvent, StreamId, truncate_to_micros, valid_event_type};

fn refuse(message: String) -> StoreError {
    StoreError::InvalidArgument(format!("cannot import: {message}"))
}

/// The extract on its own: consecutive positions, every `prev_hash` linking to the event before,
/// every hash matching the content, stream versions consecutive within the extract, and nothing
/// the database would store differently from what was hashed.
pub(crate) fn check_extract(events: &[RecordedEvent]) -> Result<(), StoreError> {
    let Some(first) = events.first() else {
        return Err(refuse("the extract holds no events".into()));
    };
    if first.position == 0 {
        return Err(refuse("positions start at 1".into()));
    }
    let mut versions: HashMap<&StreamId, u64> = HashMap::new();
    for (i, e) in events.iter().enumerate() {
        let p = e.position;
        let expected = first.position + i as u64;
        if p != expected {
            return Err(refuse(format!(
                "positions must be consecutive: expected {expected}, found {p}"
            )));
        }
        if i > 0 && e.prev_hash != events[i - 1].hash {
            return Err(refuse(format!(
                "the event at position {p} does not link to the one before: its prev_hash is \
                 {}, but the hash at position {} is {}",
                e.prev_hash,
                p - 1,
                events[i - 1].hash
            )));
        }
        if e.version == 0 {
            return Err(refuse(format!("position {p}: stream versions start at 1")));
        }
        if !valid_event_type(&e.event_type) {
            return Err(refuse(format!(
                "position {p}: event type {:?} must be 1 to 100 ASCII letters, digits, '_' or '.'",
                e.event_type
            )));
        }
        if e.actor.subject.is_empty() || e.actor.role.is_empty() {
            return Err(refuse(format!(
                "position {p}: every event needs an actor with a subject and a role"
            )));
        }
        // A deserialised StreamId has not been through its constructor.
        StreamId::new(e.stream.stream_type(), e.stream.id())
            .map_err(|err| refuse(format!("position {p}: {err}")))?;
        match serde_json::from_str::<serde_json::Value>(&e.payload_text) {
            Ok(parsed) if parsed == e.payload => {}
            Ok(_) => {
                return Err(refuse(format!(
                    "position {p}: the payload text and the payload value differ"
                )));
            }
            Err(err) => {
                return Err(refuse(format!(
                    "position {p}: the payload text is not JSON ({err}); it must be the \
                     canonical text that was hashed"
                )));
            }
        }
        if truncate_to_micros(e.recorded_at) != e.recorded_at
            || truncate_to_micros(e.effective_at) != e.effective_at
        {
            return Err(refuse(format!(
                "position {p}: timestamps must have at most microsecond precision"
            )));
        }
        let computed = recompute_hash(e);
        if computed != e.hash {
            return Err(refuse(format!(
                "the event at position {p} hashes to {computed}, not to its stored hash {}: \
                 its content or metadata was changed",
                e.hash
            )));
        }
        if let Some(before) = versions.insert(&e.stream, e.version)
            && e.version != before + 1
        {
            return Err(refuse(format!(
                "position {p}: stream {} goes from version {before} to {}",
                e.stream, e.version
            )));
        }
    }
    Ok(())
}

/// The extract continues the store: the head is just before the first event and its hash is
/// the first event's `prev_hash` (an empty store: position 0 and the genesis hash).
pub(crate) fn check_continues(head: &LogHead, events: &[RecordedEvent]) -> Result<(), StoreError> {
    let first = &events[0];
    if head.position + 1 != first.position || head.hash != first.prev_hash {
        return Err(refuse(format!(
            "the extract starts at position {} after hash {}, but this store's head is at \
             position {} with hash {}; an extract can only be imported into a store whose head \
             is exactly where the extract begins (an empty store for an extract from position 1)",
            first.position, first.prev_hash, head.position, head.hash
        )));
    }
    Ok(())
}

/// Each stream the extract touches, with the version it must be at before the extract.
pub(crate) fn stream_starts(events: &[RecordedEvent]) -> Vec<(&StreamId, u64)> {
    let mut starts: Vec<(&StreamId, u64)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for e in events {
        if seen.insert(&e.stream) {
            starts.push((&e.stream, e.version - 1));
        }
    }
    starts
}

/// Refuses a stream whose stored version is not the one just before its first imported event.
pub(crate) fn check_stream_version(
    stream: &StreamId,
    expected: u64,
    actual: u64,
) -> Result<(), StoreError> {
    if expected != actual {
        return Err(refuse(format!(
            "stream {stream} is at version {actual} in this store, but the extract continues \
             it from version {expected}"
        )));
    }
    Ok(())
}

/// A unique violation while inserting: the store already holds a position, event id or stream
/// version of the extract (rows beyond the head, or an id used twice).
pub(crate) fn insert_error(err: sqlx::Error) -> StoreError {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => refuse(format!(
            "an event id, position or stream version of the extract is already stored ({})",
            db.message()
        )),
        _ => err.into(),
    }
}
