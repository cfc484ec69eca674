//! Turning an accepted append into recorded events: versions, positions, timestamps and hashes.
//! Pure code shared by both backends; it runs while the writer holds the log head.

use chrono::{DateTime, Utc};

use crate::chain::{canonical_json, event_hash};
use crate::types::{LogHead, RecordedEvent, StreamAppend};

/// The `recorded_at` for events sealed onto a head recorded at `head_recorded_at`: now, but
/// never before it (the head's writer, another server, may have a clock running ahead of
/// ours), so `recorded_at` never decreases along the log.
pub(crate) fn recorded_after(head_recorded_at: Option<DateTime<Utc>>) -> DateTime<Utc> {
    crate::types::truncate_to_micros(Utc::now()).max(head_recorded_at.unwrap_or_default())
}

/// Columns of `events` in the order every query selects them.
pub(crate) const EVENT_COLUMNS: &str = "position, event_id, stream_type, stream_id, version, \
     event_type, schema_version, payload, actor_subject, actor_name, actor_role, actor_org, \
     reason, correlation_id, causation_id, recorded_at, effective_at, prev_hash, hash";

/// Assigns positions after `head`, versions after each stream's expected version, and chains
/// the hashes. `recorded_at` must already be truncated to microseconds.
pub(crate) fn seal(
    batch: &[StreamAppend],
    head: &LogHead,
    recorded_at: DateTime<Utc>,
) -> Vec<RecordedEvent> {
    let mut position = head.position;
    let mut prev_hash = head.hash.clone();
    let mut out = Vec::with_capacity(batch.iter().map(|s| s.events.len()).sum());
    for stream in batch {
        for (i, e) in stream.events.iter().enumerate() {
            position += 1;
            let effective_at = e
                .metadata
                .effective_at
                .map(crate::types::truncate_to_micros)
                .unwrap_or(recorded_at);
            let mut recorded = RecordedEvent {
                position,
                event_id: e.event_id,
                stream: stream.stream.clone(),
                version: stream.expected.0 + i as u64 + 1,
                event_type: e.event_type.clone(),
                schema_version: e.schema_version,
                payload_text: canonical_json(&e.payload),
                payload: e.payload.clone(),
                actor: e.metadata.actor.clone(),
                reason: e.metadata.reason.clone(),
                correlation_id: e.metadata.correlation_id,
                causation_id: e.metadata.causation_id,
                recorded_at,
                effective_at,
                prev_hash: prev_hash.clone(),
                hash: String::new(),
            };
            recorded.hash = event_hash(&recorded, position);
            prev_hash.clone_from(&recorded.hash);
            out.push(recorded);
        }
    }
    out
}
