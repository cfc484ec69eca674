//! The hash chain: canonical bytes of an event, its SHA-256, and a verifier that walks the log.
//!
//! Hash input (version 1), each field as an 8-byte big-endian length followed by its UTF-8 bytes,
//! an absent optional field as the length `u64::MAX` with no bytes, in this order:
//! `"styr-event-v1"`, position, event_id, stream_type, stream_id, version, event_type,
//! schema_version, payload (canonical JSON: object keys sorted, no insignificant whitespace),
//! actor subject, actor display name, actor role, actor organisation, reason, correlation_id,
//! causation_id, recorded_at, effective_at (both `YYYY-MM-DDTHH:MM:SS.ffffffZ`), prev_hash.
//! Numbers are in decimal, UUIDs lowercase hyphenated. Because the position and the previous
//! hash are inside the hash, a changed, deleted, inserted or swapped row breaks the chain.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::types::{RecordedEvent, StreamId, TIMESTAMP_LEN, format_timestamp, write_timestamp};

/// Serialises JSON with object keys sorted and no whitespace, independent of how the map type
/// orders its keys, so the same value always hashes the same.
pub fn canonical_json(value: &Value) -> String {
    let mut out = String::new();
    write_canonical(value, &mut out);
    out
}

fn write_canonical(value: &Value, out: &mut String) {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.iter().collect();
            entries.sort_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (i, (k, v)) in entries.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                write_canonical(v, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, v) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(v, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// The fields that are hashed, borrowed from wherever the event lives: a [`RecordedEvent`] or a
/// row still in the bytes the database sent.
pub(crate) struct ChainFields<'a> {
    pub position: u64,
    pub event_id: Uuid,
    pub stream_type: &'a str,
    pub stream_id: &'a str,
    pub version: u64,
    pub event_type: &'a str,
    pub schema_version: u32,
    pub payload: &'a str,
    pub actor_subject: &'a str,
    pub actor_name: &'a str,
    pub actor_role: &'a str,
    pub actor_org: &'a str,
    pub reason: Option<&'a str>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: &'a str,
}

impl<'a> ChainFields<'a> {
    /// The fields of `event`, at `position` (the event's own, or the one it is about to get).
    pub fn of(event: &'a RecordedEvent, position: u64) -> Self {
        Self {
            position,
            event_id: event.event_id,
            stream_type: event.stream.stream_type(),
            stream_id: event.stream.id(),
            version: event.version,
            event_type: &event.event_type,
            schema_version: event.schema_version,
            payload: &event.payload_text,
            actor_subject: &event.actor.subject,
            actor_name: &event.actor.display_name,
            actor_role: &event.actor.role,
            actor_org: &event.actor.organisation,
            reason: event.reason.as_deref(),
            correlation_id: event.correlation_id,
            causation_id: event.causation_id,
            recorded_at: event.recorded_at,
            effective_at: event.effective_at,
            prev_hash: &event.prev_hash,
        }
    }

    /// SHA-256 of the canonical bytes (see the module doc). Nothing is allocated: verification
    /// hashes every event of the log.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Hasher(Sha256::new());
        let mut numbers = itoa::Buffer::new();
        let mut uuid = Uuid::encode_buffer();
        h.field(b"styr-event-v1");
        h.field(numbers.format(self.position).as_bytes());
        h.field(
            self.event_id
                .hyphenated()
                .encode_lower(&mut uuid)
                .as_bytes(),
        );
        h.field(self.stream_type.as_bytes());
        h.field(self.stream_id.as_bytes());
        h.field(numbers.format(self.version).as_bytes());
        h.field(self.event_type.as_bytes());
        h.field(numbers.format(self.schema_version).as_bytes());
        h.field(self.payload.as_bytes());
        h.field(self.actor_subject.as_bytes());
        h.field(self.actor_name.as_bytes());
        h.field(self.actor_role.as_bytes());
        h.field(self.actor_org.as_bytes());
        h.optional(self.reason.map(str::as_bytes));
        h.field(
            self.correlation_id
                .hyphenated()
                .encode_lower(&mut uuid)
                .as_bytes(),
        );
        h.optional(
            self.causation_id
                .map(|c| c.hyphenated().encode_lower(&mut uuid).as_bytes()),
        );
        h.timestamp(&self.recorded_at);
        h.timestamp(&self.effective_at);
        h.field(self.prev_hash.as_bytes());
        h.0.finalize().into()
    }

    /// The digest as the log stores it: lowercase hex.
    pub fn hash(&self) -> String {
        hex::encode(self.digest())
    }

    /// Whether `stored` (lowercase hex) is this event's hash.
    pub fn hash_matches(&self, stored: &str) -> bool {
        let mut hex = [0u8; 64];
        hex::encode_to_slice(self.digest(), &mut hex).is_ok() && stored.as_bytes() == hex
    }
}

struct Hasher(Sha256);

impl Hasher {
    fn field(&mut self, bytes: &[u8]) {
        self.0.update((bytes.len() as u64).to_be_bytes());
        self.0.update(bytes);
    }

    fn optional(&mut self, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => self.field(b),
            None => self.0.update(u64::MAX.to_be_bytes()),
        }
    }

    fn timestamp(&mut self, t: &DateTime<Utc>) {
        let mut text = [0u8; TIMESTAMP_LEN];
        match write_timestamp(t, &mut text) {
            Some(bytes) => self.field(bytes),
            None => self.field(format_timestamp(t).as_bytes()),
        }
    }
}

/// SHA-256 of the event's canonical bytes (see the module doc), lowercase hex, with the event
/// at `position`.
pub(crate) fn event_hash(event: &RecordedEvent, position: u64) -> String {
    ChainFields::of(event, position).hash()
}

/// Recomputes the hash of a stored event from its stored fields.
pub fn recompute_hash(event: &RecordedEvent) -> String {
    event_hash(event, event.position)
}

/// What is wrong at the first broken position.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChainFault {
    /// A position is missing or out of order: a row was deleted, inserted or renumbered.
    PositionGap { expected: u64, found: u64 },
    /// The row's `prev_hash` is not the previous row's hash.
    BrokenLink { expected: String, found: String },
    /// The stored hash does not match the row's content: payload or metadata changed.
    HashMismatch { expected: String, found: String },
    /// A stream skips or repeats a version.
    VersionGap {
        stream: StreamId,
        expected: u64,
        found: u64,
    },
    /// The log's head row does not match the last event (the tail was cut or extended).
    HeadMismatch {
        head_position: u64,
        head_hash: String,
        last_position: u64,
        last_hash: String,
    },
    /// A row could not be read back (a column that no longer parses).
    Unreadable(String),
}

impl std::fmt::Display for ChainFault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            ChainFault::PositionGap { expected, found } => write!(
                f,
                "expected position {expected} but found {found}: a row was deleted, inserted or renumbered"
            ),
            ChainFault::BrokenLink { expected, found } => write!(
                f,
                "prev_hash is {found} but the previous event's hash is {expected}"
            ),
            ChainFault::HashMismatch { expected, found } => write!(
                f,
                "stored hash {found} does not match the content, which hashes to {expected}: payload or metadata was changed"
            ),
            ChainFault::VersionGap {
                stream,
                expected,
                found,
            } => write!(
                f,
                "stream {stream} jumps from version {} to {found}",
                expected - 1
            ),
            ChainFault::HeadMismatch {
                head_position,
                head_hash,
                last_position,
                last_hash,
            } => write!(
                f,
                "the log head says position {head_position} ({head_hash}) but the last event is {last_position} ({last_hash})"
            ),
            ChainFault::Unreadable(msg) => write!(f, "row cannot be read: {msg}"),
        }
    }
}

/// The first place where the chain does not hold.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    pub position: u64,
    pub fault: ChainFault,
}

impl std::fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "chain broken at position {}: {}",
            self.position, self.fault
        )
    }
}

/// The result of a verification run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainReport {
    pub from: u64,
    /// The last position checked and found intact.
    pub verified_to: u64,
    pub events_checked: u64,
    /// `None` when the chain holds.
    pub first_break: Option<ChainBreak>,
}

impl ChainReport {
    pub fn is_intact(&self) -> bool {
        self.first_break.is_none()
    }
}

/// Walks events in position order and stops at the first fault. Fed page by page by the store,
/// as [`RecordedEvent`]s or as rows borrowed from the bytes the database sent.
pub(crate) struct ChainVerifier {
    next_position: u64,
    prev_hash: String,
    /// The last version of each stream, keyed `type/id` (a type never holds `/`).
    stream_versions: HashMap<String, u64>,
    /// Reused to look a stream up without allocating.
    key: String,
    checked: u64,
}

impl ChainVerifier {
    /// `prev_hash` is the hash of the event just before `from` (genesis for position 1);
    /// `stream_versions` the last version of each stream before `from`.
    pub fn new(from: u64, prev_hash: String, stream_versions: HashMap<StreamId, u64>) -> Self {
        Self {
            next_position: from,
            prev_hash,
            stream_versions: stream_versions
                .into_iter()
                .map(|(stream, version)| (stream.to_string(), version))
                .collect(),
            key: String::new(),
            checked: 0,
        }
    }

    pub fn checked(&self) -> u64 {
        self.checked
    }

    pub fn last_position(&self) -> u64 {
        self.next_position - 1
    }

    pub fn last_hash(&self) -> &str {
        &self.prev_hash
    }

    pub fn check(&mut self, e: &RecordedEvent) -> Result<(), ChainBreak> {
        self.check_fields(&ChainFields::of(e, e.position), &e.hash)
    }

    /// Checks the next event: its position, its link to the one before, its stored hash against
    /// its content, and its stream's version.
    pub fn check_fields(
        &mut self,
        e: &ChainFields<'_>,
        stored_hash: &str,
    ) -> Result<(), ChainBreak> {
        let fail = |fault| {
            Err(ChainBreak {
                position: e.position,
                fault,
            })
        };
        if e.position != self.next_position {
            return Err(ChainBreak {
                position: self.next_position.min(e.position),
                fault: ChainFault::PositionGap {
                    expected: self.next_position,
                    found: e.position,
                },
            });
        }
        if e.prev_hash != self.prev_hash {
            return fail(ChainFault::BrokenLink {
                expected: self.prev_hash.clone(),
                found: e.prev_hash.to_owned(),
            });
        }
        if !e.hash_matches(stored_hash) {
            return fail(ChainFault::HashMismatch {
                expected: e.hash(),
                found: stored_hash.to_owned(),
            });
        }
        self.key.clear();
        self.key.push_str(e.stream_type);
        self.key.push('/');
        self.key.push_str(e.stream_id);
        let last = self.stream_versions.get_mut(self.key.as_str());
        let expected_version = last.as_deref().copied().unwrap_or(0) + 1;
        if e.version != expected_version {
            return fail(match StreamId::new(e.stream_type, e.stream_id) {
                Ok(stream) => ChainFault::VersionGap {
                    stream,
                    expected: expected_version,
                    found: e.version,
                },
                Err(err) => ChainFault::Unreadable(err.to_string()),
            });
        }
        match last {
            Some(version) => *version = e.version,
            None => {
                self.stream_versions.insert(self.key.clone(), e.version);
            }
        }
        self.prev_hash.clear();
        self.prev_hash.push_str(stored_hash);
        self.next_position += 1;
        self.checked += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn canonical_json_sorts_keys_at_every_depth() {
        let v = json!({"b": 1, "a": {"d": [3, {"z": null, "y": "x"}], "c": true}});
        assert_eq!(
            canonical_json(&v),
            r#"{"a":{"c":true,"d":[3,{"y":"x","z":null}]},"b":1}"#
        );
    }

    #[test]
    fn canonical_json_escapes_strings_and_keys() {
        let v = json!({"k\"ey": "line\nbreak ø"});
        assert_eq!(canonical_json(&v), r#"{"k\"ey":"line\nbreak ø"}"#);
    }
}
