//! Value types of the event log: stream identities, events to append and events as recorded.

use std::fmt;

use chrono::{DateTime, SubsecRound, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::StoreError;

/// Identifies one stream: an aggregate type and the aggregate's id,
/// e.g. `assignment` / `HOD:DMP:2024:TB2024-12`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct StreamId {
    stream_type: String,
    id: String,
}

impl StreamId {
    /// A stream type is lowercase ASCII (`[a-z][a-z0-9_]*`, at most 64 bytes); an id is 1–200
    /// characters with no control characters.
    pub fn new(stream_type: impl Into<String>, id: impl Into<String>) -> Result<Self, StoreError> {
        let stream_type = stream_type.into();
        let id = id.into();
        let type_ok = !stream_type.is_empty()
            && stream_type.len() <= 64
            && stream_type.starts_with(|c: char| c.is_ascii_lowercase())
            && stream_type
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !type_ok {
            return Err(StoreError::InvalidArgument(format!(
                "stream type {stream_type:?} must match [a-z][a-z0-9_]* and be at most 64 bytes"
            )));
        }
        let id_len = id.chars().count();
        if id_len == 0 || id_len > 200 || id.chars().any(char::is_control) {
            return Err(StoreError::InvalidArgument(format!(
                "stream id {id:?} must be 1 to 200 characters without control characters"
            )));
        }
        Ok(Self { stream_type, id })
    }

    pub fn stream_type(&self) -> &str {
        &self.stream_type
    }

    pub fn id(&self) -> &str {
        &self.id
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.stream_type, self.id)
    }
}

/// The version a writer expects a stream to be at before its append (0: the stream must not exist).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExpectedVersion(pub u64);

impl ExpectedVersion {
    pub const NO_STREAM: ExpectedVersion = ExpectedVersion(0);
}

/// Who caused an event. Strings here: the store records identities, the domain interprets them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Actor {
    /// Stable subject id from the identity provider (the JWT `sub`).
    pub subject: String,
    pub display_name: String,
    pub role: String,
    /// Organisation code, e.g. `HOD`, `DMP`, `RR`.
    pub organisation: String,
}

/// Who, why and in which conversation an event was written; the store adds `recorded_at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EventMetadata {
    pub actor: Actor,
    pub reason: Option<String>,
    /// Groups every event caused by one user request.
    pub correlation_id: Uuid,
    /// The event or command that caused this one, if any.
    pub causation_id: Option<Uuid>,
    /// When it took effect in the real world; `None` means "when it was recorded".
    pub effective_at: Option<DateTime<Utc>>,
}

/// An event a writer wants to append.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    /// Chosen by the writer (UUIDv7) so that a retried append is recognised and not repeated.
    pub event_id: Uuid,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Value,
    pub metadata: EventMetadata,
}

/// The events for one stream inside an atomic append.
#[derive(Debug, Clone)]
pub struct StreamAppend {
    pub stream: StreamId,
    pub expected: ExpectedVersion,
    pub events: Vec<NewEvent>,
}

/// An event as stored: everything a reader, a projector or an auditor gets back.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordedEvent {
    pub position: u64,
    pub event_id: Uuid,
    pub stream: StreamId,
    pub version: u64,
    pub event_type: String,
    pub schema_version: u32,
    pub payload: Value,
    /// The canonical JSON text that was hashed; `payload` is parsed from it.
    #[serde(skip)]
    pub payload_text: String,
    pub actor: Actor,
    pub reason: Option<String>,
    pub correlation_id: Uuid,
    pub causation_id: Option<Uuid>,
    pub recorded_at: DateTime<Utc>,
    pub effective_at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// The result of an append: the events as recorded, in position order.
#[derive(Debug, Clone, PartialEq)]
pub struct AppendOutcome {
    pub events: Vec<RecordedEvent>,
    /// True when every event id was already stored and nothing was written.
    pub already_stored: bool,
}

impl AppendOutcome {
    /// The highest position written (or found, for a repeated append).
    pub fn last_position(&self) -> u64 {
        self.events.iter().map(|e| e.position).max().unwrap_or(0)
    }

    /// The version a stream is at after this append, if the append touched it.
    pub fn stream_version(&self, stream: &StreamId) -> Option<u64> {
        self.events
            .iter()
            .filter(|e| &e.stream == stream)
            .map(|e| e.version)
            .max()
    }
}

/// The tip of the hash chain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogHead {
    pub position: u64,
    pub hash: String,
}

/// The hash the first event chains to.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// Timestamps are kept at microsecond precision, the finest both databases store exactly,
/// so a timestamp reads back exactly as it was hashed.
pub fn truncate_to_micros(t: DateTime<Utc>) -> DateTime<Utc> {
    t.trunc_subsecs(6)
}

/// The one text form of a timestamp, used in SQLite columns and in the hash input:
/// `YYYY-MM-DDTHH:MM:SS.ffffffZ`.
pub fn format_timestamp(t: &DateTime<Utc>) -> String {
    let mut text = [0u8; TIMESTAMP_LEN];
    match write_timestamp(t, &mut text) {
        Some(bytes) => String::from_utf8_lossy(bytes).into_owned(),
        // Years outside 0..=9999 (which chrono writes with a sign) take chrono's path.
        None => t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string(),
    }
}

/// Length of [`format_timestamp`]'s text for years 0..=9999.
pub(crate) const TIMESTAMP_LEN: usize = 27;

/// Writes [`format_timestamp`]'s text into `out` without allocating (it runs twice for every
/// event hashed, and verification hashes the whole log); `None` for years outside 0..=9999.
/// Written out by hand: chrono's format strings are parsed on every call.
pub(crate) fn write_timestamp<'b>(
    t: &DateTime<Utc>,
    out: &'b mut [u8; TIMESTAMP_LEN],
) -> Option<&'b [u8]> {
    use chrono::{Datelike, Timelike};
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    // chrono keeps a leap second as nanoseconds past 1e9 and writes it as second 60.
    let second = t.second() + t.nanosecond() / 1_000_000_000;
    let micros = t.nanosecond() % 1_000_000_000 / 1000;
    let mut put = |at: usize, width: usize, mut n: u32| {
        for i in (at..at + width).rev() {
            out[i] = b'0' + (n % 10) as u8;
            n /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, second);
    put(20, 6, micros);
    for (at, sep) in [
        (4, b'-'),
        (7, b'-'),
        (10, b'T'),
        (13, b':'),
        (16, b':'),
        (19, b'.'),
        (26, b'Z'),
    ] {
        out[at] = sep;
    }
    Some(&out[..])
}

pub(crate) fn parse_timestamp(s: &str) -> Result<DateTime<Utc>, StoreError> {
    DateTime::parse_from_rfc3339(s)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| StoreError::Corrupt(format!("timestamp {s:?} does not parse: {e}")))
}

/// 1 to 100 ASCII letters, digits, `_` or `.`.
pub(crate) fn valid_event_type(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 100
        && t.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.')
}

/// Checks an append request before any database work, so bad input never reaches a transaction.
pub(crate) fn validate_batch(batch: &[StreamAppend]) -> Result<(), StoreError> {
    if batch.is_empty() || batch.iter().all(|s| s.events.is_empty()) {
        return Err(StoreError::InvalidArgument(
            "an append needs at least one event".into(),
        ));
    }
    let mut streams = std::collections::HashSet::new();
    let mut ids = std::collections::HashSet::new();
    for s in batch {
        if s.events.is_empty() {
            return Err(StoreError::InvalidArgument(format!(
                "stream {} is listed with no events",
                s.stream
            )));
        }
        if !streams.insert(&s.stream) {
            return Err(StoreError::InvalidArgument(format!(
                "stream {} is listed twice in one append",
                s.stream
            )));
        }
        for e in &s.events {
            if !ids.insert(e.event_id) {
                return Err(StoreError::InvalidArgument(format!(
                    "event id {} is used twice in one append",
                    e.event_id
                )));
            }
            if !valid_event_type(&e.event_type) {
                return Err(StoreError::InvalidArgument(format!(
                    "event type {:?} must be 1 to 100 ASCII letters, digits, '_' or '.'",
                    e.event_type
                )));
            }
            if e.metadata.actor.subject.is_empty() || e.metadata.actor.role.is_empty() {
                return Err(StoreError::InvalidArgument(
                    "every event needs an actor with a subject and a role".into(),
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::format_timestamp;

    #[test]
    fn timestamps_are_formatted_exactly_as_chrono_formats_them() {
        let chrono_form =
            |t: &chrono::DateTime<Utc>| t.format("%Y-%m-%dT%H:%M:%S%.6fZ").to_string();
        let mut t = Utc.with_ymd_and_hms(1970, 1, 1, 0, 0, 0).unwrap();
        // Steps of a prime number of microseconds over about 300 years, plus edge cases: a
        // leap second (nanoseconds past 1e9), the first and last instants of 0..=9999, and
        // years chrono writes with a sign.
        for _ in 0..20_000 {
            assert_eq!(format_timestamp(&t), chrono_form(&t));
            t += chrono::Duration::microseconds(473_385_190_123);
        }
        let edges = [
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::microseconds(999_999),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 12, 0, 0).unwrap(),
            chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
                .unwrap()
                .and_hms_micro_opt(23, 59, 59, 1_500_000)
                .unwrap()
                .and_utc(),
        ];
        for t in edges {
            assert_eq!(format_timestamp(&t), chrono_form(&t), "{t:?}");
        }
    }
}
