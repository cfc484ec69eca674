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

use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::types::{RecordedEvent, StreamId, format_timestamp};

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

/// The fields that are hashed, borrowed from wherever the event lives.
pub(crate) struct HashInput<'a> {
    pub position: u64,
    pub event: &'a RecordedEvent,
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
}

/// SHA-256 of the event's canonical bytes (see the module doc), lowercase hex.
pub(crate) fn event_hash(input: HashInput<'_>) -> String {
    let e = input.event;
    let mut h = Hasher(Sha256::new());
    h.field(b"styr-event-v1");
    h.field(input.position.to_string().as_bytes());
    h.field(e.event_id.to_string().as_bytes());
    h.field(e.stream.stream_type().as_bytes());
    h.field(e.stream.id().as_bytes());
    h.field(e.version.to_string().as_bytes());
    h.field(e.event_type.as_bytes());
    h.field(e.schema_version.to_string().as_bytes());
    h.field(e.payload_text.as_bytes());
    h.field(e.actor.subject.as_bytes());
    h.field(e.actor.display_name.as_bytes());
    h.field(e.actor.role.as_bytes());
    h.field(e.actor.organisation.as_bytes());
    h.optional(e.reason.as_deref().map(str::as_bytes));
    h.field(e.correlation_id.to_string().as_bytes());
    h.optional(
        e.causation_id
            .map(|c| c.to_string())
            .as_deref()
            .map(str::as_bytes),
    );
    h.field(format_timestamp(&e.recorded_at).as_bytes());
    h.field(format_timestamp(&e.effective_at).as_bytes());
    h.field(e.prev_hash.as_bytes());
    hex::encode(h.0.finalize())
}

/// Recomputes the hash of a stored event from its stored fields.
pub fn recompute_hash(event: &RecordedEvent) -> String {
    event_hash(HashInput {
        position: event.position,
        event,
    })
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

/// Walks events in position order and stops at the first fault. Fed page by page by the store.
pub(crate) struct ChainVerifier {
    next_position: u64,
    prev_hash: String,
    stream_versions: HashMap<StreamId, u64>,
    checked: u64,
}

impl ChainVerifier {
    /// `prev_hash` is the hash of the event just before `from` (genesis for position 1);
    /// `stream_versions` the last version of each stream before `from`.
    pub fn new(from: u64, prev_hash: String, stream_versions: HashMap<StreamId, u64>) -> Self {
        Self {
            next_position: from,
            prev_hash,
            stream_versions,
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
                found: e.prev_hash.clone(),
            });
        }
        let computed = recompute_hash(e);
        if computed != e.hash {
            return fail(ChainFault::HashMismatch {
                expected: computed,
                found: e.hash.clone(),
            });
        }
        let expected_version = self.stream_versions.get(&e.stream).copied().unwrap_or(0) + 1;
        if e.version != expected_version {
            return fail(ChainFault::VersionGap {
                stream: e.stream.clone(),
                expected: expected_version,
                found: e.version,
            });
        }
        self.stream_versions.insert(e.stream.clone(), e.version);
        self.prev_hash = e.hash.clone();
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
