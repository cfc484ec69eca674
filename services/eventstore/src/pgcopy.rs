//! Chain verification on PostgreSQL, reading the log as one binary `COPY`.
//!
//! Verification hashes every row of the log, so how the rows are read bounds it. A `SELECT`
//! through sqlx decodes each row into a [`crate::RecordedEvent`] (a dozen allocations, a
//! column lookup by name per field); `COPY … TO STDOUT (FORMAT binary)` streams the rows as
//! length-prefixed fields that are hashed where they lie, and the server produces them
//! without the per-row protocol overhead of a result set. The bytes are read on the async side
//! and handed in batches to one blocking thread that decodes and checks them, so the database,
//! the socket and the hashing work side by side.
//!
//! The binary format (PostgreSQL's documentation, "COPY", "Binary Format"): an 11-byte
//! signature, a 32-bit flags field and a 32-bit header-extension length (followed by that many
//! bytes); then each tuple as a 16-bit field count and, per field, a 32-bit length (-1 for
//! NULL) and that many bytes in the type's binary send format; and a field count of -1 as
//! the trailer. Integers are big-endian, `uuid` is its 16 bytes, `timestamptz` microseconds
//! since 2000-01-01 UTC, `text` its UTF-8 bytes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use chrono::{DateTime, Utc};
use futures_util::StreamExt;
use sqlx::PgPool;
use uuid::Uuid;

use crate::chain::{ChainBreak, ChainFault, ChainFields, ChainVerifier};
use crate::error::StoreError;

/// The hashed columns and the stored hash, in the order [`decode_row`] reads them.
const CHAIN_COLUMNS: &str = "position, event_id, stream_type, stream_id, version, event_type, \
     schema_version, payload, actor_subject, actor_name, actor_role, actor_org, reason, \
     correlation_id, causation_id, recorded_at, effective_at, prev_hash, hash";
const FIELD_COUNT: i16 = 19;

const SIGNATURE: &[u8] = b"PGCOPY\n\xff\r\n\0";

/// Bytes of messages gathered before they are handed to the checking thread.
const BATCH_BYTES: usize = 512 * 1024;

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01 UTC).
const PG_EPOCH_MICROS: i64 = 946_684_800_000_000;

/// Checks the rows after `verifier.last_position()` up to and including `to`. Returns the
/// verifier as far as it got and the first break, if any; `progress` gets the events checked
/// so far and `total` after each batch.
pub(crate) async fn verify(
    pool: &PgPool,
    mut verifier: ChainVerifier,
    to: u64,
    total: u64,
    progress: &mut impl FnMut(u64, u64),
) -> Result<(ChainVerifier, Option<ChainBreak>), StoreError> {
    let sql = format!(
        "COPY (SELECT {CHAIN_COLUMNS} FROM events WHERE position > {from} AND position <= {to} \
         ORDER BY position) TO STDOUT (FORMAT binary)",
        from = verifier.last_position(),
    );
    let checked = Arc::new(AtomicU64::new(0));
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Vec<Bytes>>(4);
    let worker = {
        let checked = checked.clone();
        tokio::task::spawn_blocking(move || {
            let mut decoder = Decoder::new(verifier.last_position() + 1);
            while let Some(batch) = rx.blocking_recv() {
                let outcome = batch.iter().try_for_each(|message| {
                    decoder.feed(message, |fields, hash| verifier.check_fields(fields, hash))
                });
                checked.store(verifier.checked(), Ordering::Relaxed);
                if let Err(fault) = outcome {
                    return (verifier, Some(fault));
                }
            }
            let end = decoder.finish();
            (verifier, end.err())
        })
    };
    let mut conn = pool.acquire().await?;
    let read = async {
        let mut messages = conn.copy_out_raw(&sql).await?;
        let (mut batch, mut bytes) = (Vec::new(), 0);
        while let Some(message) = messages.next().await {
            // PostgreSQL sends a row per message; they are passed on as they came, uncopied.
            let message = message?;
            bytes += message.len();
            batch.push(message);
            if bytes >= BATCH_BYTES {
                if tx.send(std::mem::take(&mut batch)).await.is_err() {
                    // The checker stopped at a break: the rest of the log is not needed.
                    return Ok(false);
                }
                bytes = 0;
                progress(checked.load(Ordering::Relaxed), total);
            }
        }
        if !batch.is_empty() {
            let _ = tx.send(batch).await;
        }
        Ok::<_, StoreError>(true)
    };
    let read = read.await;
    drop(tx);
    if !matches!(read, Ok(true)) {
        // The COPY was left part-way: the connection is not returned to the pool.
        conn.close_on_drop();
    }
    let (verifier, fault) = worker
        .await
        .map_err(|e| StoreError::Unavailable(format!("chain verification stopped: {e}")))?;
    if fault.is_none() {
        read?;
    }
    progress(verifier.checked(), total);
    Ok((verifier, fault))
}

/// Decodes binary COPY data fed in pieces of any size; a row split across two pieces is kept
/// until the rest arrives.
struct Decoder {
    header_read: bool,
    trailer_read: bool,
    /// The start of a row whose end has not arrived yet.
    pending: Vec<u8>,
    /// The position after the last row checked, for reporting an unreadable row.
    next_position: u64,
}

impl Decoder {
    fn new(next_position: u64) -> Self {
        Self {
            header_read: false,
            trailer_read: false,
            pending: Vec::new(),
            next_position,
        }
    }

    fn feed(
        &mut self,
        data: &[u8],
        mut check: impl FnMut(&ChainFields<'_>, &str) -> Result<(), ChainBreak>,
    ) -> Result<(), ChainBreak> {
        if self.pending.is_empty() {
            let used = self.rows(data, &mut check)?;
            self.pending.extend_from_slice(&data[used..]);
        } else {
            let mut joined = std::mem::take(&mut self.pending);
            joined.extend_from_slice(data);
            let used = self.rows(&joined, &mut check)?;
            joined.drain(..used);
            self.pending = joined;
        }
        Ok(())
    }

    /// Checks every complete row in `data`; returns how many bytes they took.
    fn rows(
        &mut self,
        data: &[u8],
        check: &mut impl FnMut(&ChainFields<'_>, &str) -> Result<(), ChainBreak>,
    ) -> Result<usize, ChainBreak> {
        let mut at = 0;
        if !self.header_read {
            match header_len(data).map_err(|m| self.unreadable(m))? {
                Some(len) => {
                    at = len;
                    self.header_read = true;
                }
                None => return Ok(0),
            }
        }
        while at < data.len() {
            if self.trailer_read {
                return Err(self.unreadable("data after the end of the COPY".into()));
            }
            let mut cursor = Cursor { data, at };
            match decode_row(&mut cursor) {
                Ok(Some(Row::Event(fields, hash))) => {
                    check(&fields, hash)?;
                    self.next_position = fields.position + 1;
                }
                Ok(Some(Row::Trailer)) => self.trailer_read = true,
                Ok(None) => break,
                Err(message) => return Err(self.unreadable(message)),
            }
            at = cursor.at;
        }
        Ok(at)
    }

    /// Every row arrived: nothing may be left over and the trailer must have been read.
    fn finish(&self) -> Result<(), ChainBreak> {
        if !self.pending.is_empty() || (self.header_read && !self.trailer_read) {
            return Err(self.unreadable("the COPY ended in the middle of a row".into()));
        }
        Ok(())
    }

    fn unreadable(&self, message: String) -> ChainBreak {
        ChainBreak {
            position: self.next_position,
            fault: ChainFault::Unreadable(message),
        }
    }
}

/// The header's length, `None` until all of it has arrived.
fn header_len(data: &[u8]) -> Result<Option<usize>, String> {
    let fixed = SIGNATURE.len() + 8;
    if data.len() < fixed {
        return Ok(None);
    }
    if &data[..SIGNATURE.len()] != SIGNATURE {
        return Err("the COPY data does not start with the binary signature".into());
    }
    let extension = u32::from_be_bytes(data[fixed - 4..fixed].try_into().expect("4 bytes"));
    let len = fixed + extension as usize;
    Ok((data.len() >= len).then_some(len))
}

// A row lives on the stack for one check; boxing it would allocate for every event.
#[allow(clippy::large_enum_variant)]
enum Row<'a> {
    Event(ChainFields<'a>, &'a str),
    Trailer,
}

struct Cursor<'a> {
    data: &'a [u8],
    at: usize,
}

/// A field that has not fully arrived.
struct Short;

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], Short> {
        let bytes = self.data.get(self.at..self.at + n).ok_or(Short)?;
        self.at += n;
        Ok(bytes)
    }

    /// The next field's bytes; `None` for NULL.
    fn field(&mut self) -> Result<Option<&'a [u8]>, Short> {
        let len = i32::from_be_bytes(self.take(4)?.try_into().expect("4 bytes"));
        match usize::try_from(len) {
            Ok(n) => self.take(n).map(Some),
            Err(_) => Ok(None),
        }
    }
}

/// One tuple, `Ok(None)` when it has not fully arrived.
fn decode_row<'a>(c: &mut Cursor<'a>) -> Result<Option<Row<'a>>, String> {
    let Ok(count) = c.take(2) else {
        return Ok(None);
    };
    let count = i16::from_be_bytes(count.try_into().expect("2 bytes"));
    if count == -1 {
        return Ok(Some(Row::Trailer));
    }
    if count != FIELD_COUNT {
        return Err(format!("a row has {count} fields, not {FIELD_COUNT}"));
    }
    let mut fields = [None; FIELD_COUNT as usize];
    for slot in &mut fields {
        match c.field() {
            Ok(f) => *slot = f,
            Err(Short) => return Ok(None),
        }
    }
    let [
        position,
        event_id,
        stream_type,
        stream_id,
        version,
        event_type,
        schema_version,
        payload,
        actor_subject,
        actor_name,
        actor_role,
        actor_org,
        reason,
        correlation_id,
        causation_id,
        recorded_at,
        effective_at,
        prev_hash,
        hash,
    ] = fields;
    let position =
        u64::try_from(int8(position, "position")?).map_err(|_| "a negative position".to_owned())?;
    let at = |e: String| format!("position {position}: {e}");
    let fields = ChainFields {
        position,
        event_id: uuid(event_id, "event_id").map_err(at)?,
        stream_type: text(stream_type, "stream_type").map_err(at)?,
        stream_id: text(stream_id, "stream_id").map_err(at)?,
        version: u64::try_from(int8(version, "version").map_err(at)?)
            .map_err(|_| at("a negative version".into()))?,
        event_type: text(event_type, "event_type").map_err(at)?,
        schema_version: u32::try_from(int4(schema_version, "schema_version").map_err(at)?)
            .map_err(|_| at("a negative schema_version".into()))?,
        payload: text(payload, "payload").map_err(at)?,
        actor_subject: text(actor_subject, "actor_subject").map_err(at)?,
        actor_name: text(actor_name, "actor_name").map_err(at)?,
        actor_role: text(actor_role, "actor_role").map_err(at)?,
        actor_org: text(actor_org, "actor_org").map_err(at)?,
        reason: reason
            .map(|r| text(Some(r), "reason"))
            .transpose()
            .map_err(at)?,
        correlation_id: uuid(correlation_id, "correlation_id").map_err(at)?,
        causation_id: causation_id
            .map(|c| uuid(Some(c), "causation_id"))
            .transpose()
            .map_err(at)?,
        recorded_at: timestamp(recorded_at, "recorded_at").map_err(at)?,
        effective_at: timestamp(effective_at, "effective_at").map_err(at)?,
        prev_hash: text(prev_hash, "prev_hash").map_err(at)?,
    };
    let hash = text(hash, "hash").map_err(at)?;
    Ok(Some(Row::Event(fields, hash)))
}

fn required<'a>(field: Option<&'a [u8]>, name: &str) -> Result<&'a [u8], String> {
    field.ok_or_else(|| format!("{name} is NULL"))
}

fn fixed<const N: usize>(field: Option<&[u8]>, name: &str) -> Result<[u8; N], String> {
    required(field, name)?
        .try_into()
        .map_err(|_| format!("{name} is not {N} bytes"))
}

fn int8(field: Option<&[u8]>, name: &str) -> Result<i64, String> {
    fixed(field, name).map(i64::from_be_bytes)
}

fn int4(field: Option<&[u8]>, name: &str) -> Result<i32, String> {
    fixed(field, name).map(i32::from_be_bytes)
}

fn uuid(field: Option<&[u8]>, name: &str) -> Result<Uuid, String> {
    fixed(field, name).map(Uuid::from_bytes)
}

fn text<'a>(field: Option<&'a [u8]>, name: &str) -> Result<&'a str, String> {
    std::str::from_utf8(required(field, name)?).map_err(|e| format!("{name} is not UTF-8: {e}"))
}

fn timestamp(field: Option<&[u8]>, name: &str) -> Result<DateTime<Utc>, String> {
    let micros = int8(field, name)?;
    micros
        .checked_add(PG_EPOCH_MICROS)
        .and_then(DateTime::from_timestamp_micros)
        .ok_or_else(|| format!("{name} is out of range"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn put_field(out: &mut Vec<u8>, bytes: Option<&[u8]>) {
        match bytes {
            Some(b) => {
                out.extend_from_slice(&(b.len() as i32).to_be_bytes());
                out.extend_from_slice(b);
            }
            None => out.extend_from_slice(&(-1i32).to_be_bytes()),
        }
    }

    /// One row as PostgreSQL would send it, with `reason` and `causation_id` NULL.
    fn row(position: i64, prev_hash: &str, hash: &str) -> Vec<u8> {
        let mut out = FIELD_COUNT.to_be_bytes().to_vec();
        let id = Uuid::from_u128(position as u128);
        let micros = 1_000_000i64;
        for field in [
            Some(position.to_be_bytes().to_vec()),
            Some(id.as_bytes().to_vec()),
            Some(b"assignment".to_vec()),
            Some(b"TB2024-1".to_vec()),
            Some(position.to_be_bytes().to_vec()),
            Some(b"StatusReported".to_vec()),
            Some(1i32.to_be_bytes().to_vec()),
            Some(b"{}".to_vec()),
            Some(b"sub".to_vec()),
            Some(b"Kari".to_vec()),
            Some(b"agency".to_vec()),
            Some(b"DMP".to_vec()),
            None,
            Some(id.as_bytes().to_vec()),
            None,
            Some(micros.to_be_bytes().to_vec()),
            Some(micros.to_be_bytes().to_vec()),
            Some(prev_hash.as_bytes().to_vec()),
            Some(hash.as_bytes().to_vec()),
        ] {
            put_field(&mut out, field.as_deref());
        }
        out
    }

    fn header() -> Vec<u8> {
        let mut out = SIGNATURE.to_vec();
        out.extend_from_slice(&0i32.to_be_bytes());
        out.extend_from_slice(&0i32.to_be_bytes());
        out
    }

    fn copy_of(rows: usize) -> Vec<u8> {
        let mut out = header();
        for p in 1..=rows {
            out.extend(row(p as i64, "prev", "hash"));
        }
        out.extend_from_slice(&(-1i16).to_be_bytes());
        out
    }

    fn positions_in(pieces: &[&[u8]]) -> (Vec<u64>, Result<(), ChainBreak>) {
        let mut decoder = Decoder::new(1);
        let mut seen = Vec::new();
        for piece in pieces {
            decoder
                .feed(piece, |f, hash| {
                    assert_eq!((f.stream_id, hash, f.reason), ("TB2024-1", "hash", None));
                    assert_eq!(f.recorded_at.timestamp(), 946_684_801);
                    seen.push(f.position);
                    Ok(())
                })
                .unwrap();
        }
        (seen, decoder.finish())
    }

    #[test]
    fn rows_split_anywhere_are_decoded_once_each() {
        let data = copy_of(3);
        for cut in 0..data.len() {
            let (seen, end) = positions_in(&[&data[..cut], &data[cut..]]);
            assert_eq!(seen, [1, 2, 3], "cut at byte {cut}");
            assert!(end.is_ok(), "cut at byte {cut}");
        }
    }

    #[test]
    fn a_copy_cut_short_is_unreadable_after_the_last_whole_row() {
        let data = copy_of(3);
        let (seen, end) = positions_in(&[&data[..data.len() - 5]]);
        assert_eq!(seen, [1, 2]);
        let fault = end.unwrap_err();
        assert_eq!(fault.position, 3);
        assert!(matches!(fault.fault, ChainFault::Unreadable(_)));
    }

    #[test]
    fn a_row_with_the_wrong_shape_is_unreadable() {
        let mut data = header();
        data.extend_from_slice(&3i16.to_be_bytes());
        let mut decoder = Decoder::new(1);
        let fault = decoder.feed(&data, |_, _| Ok(())).unwrap_err();
        assert!(matches!(fault.fault, ChainFault::Unreadable(m) if m.contains("3 fields")));
        let mut decoder = Decoder::new(1);
        let fault = decoder
            .feed(b"PGCOPY\nxxxxxxxxxxxxxx", |_, _| Ok(()))
            .unwrap_err();
        assert!(matches!(fault.fault, ChainFault::Unreadable(m) if m.contains("signature")));
    }
}
