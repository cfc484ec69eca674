//! PostgreSQL backend.
//!
//! An append (a group of them, see [`crate::group`]) costs one round trip when this process
//! wrote the head last (see [`append_onto_known_head`]), two otherwise. The first
//! statement reads, in one snapshot, the log head, the head event's `recorded_at`, the version
//! of every stream the group touches and which of its event ids are stored. The events are
//! then sealed onto that head in Rust, and one autocommitted statement inserts them, moves the
//! head *only if it is still the one read* and announces the new head. If another process
//! moved the head meanwhile, that statement fails as a whole — on the unique `position` of
//! the events it raced, or on the head's guard — and the group is read and sealed again.
//!
//! Ordering: a writer only ever seals onto a committed head, and its first position is one past
//! it, so an event at position N can commit only after every position below N has committed:
//! a reader that has seen position N never later finds an event at a position ≤ N. Versions
//! are guarded by the `(stream_type, stream_id, version)` primary key and repeats by the unique
//! `event_id`: a writer whose read raced another's gets a unique violation, resolved by the
//! store as a conflict or a repeat. Groups larger than one statement (over 1,000 events), and
//! groups that find the head's row locked for longer than a commit takes (an import, another
//! server's large append), take the head's row lock for a transaction instead, as
//! `import_verbatim` does, and are decided again once it is granted.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row};
use uuid::Uuid;

use crate::error::StoreError;
use crate::seal::{EVENT_COLUMNS, recorded_after};
use crate::store::AppendAttempt;
use crate::types::{Actor, LogHead, RecordedEvent, StreamAppend, StreamId};
use crate::{group, import};

/// The channel `pg_notify` announces new head positions on.
pub(crate) const NOTIFY_CHANNEL: &str = "styr_events";

/// Writes a group of appends (see the module doc); each append is decided with
/// [`group::plan`] against one consistent read of the log.
pub(crate) async fn append_group(
    pool: &PgPool,
    batches: &[&[StreamAppend]],
    waited_for: group::WaitedFor<'_>,
    last_written: &LastWritten,
) -> Result<Vec<Result<AppendAttempt, StoreError>>, StoreError> {
    // Taken, not copied: after anything but a successful write it is not trusted again.
    let known = last_written.take();
    if let Some(known) = known
        && let Some(answers) = append_onto_known_head(pool, batches, waited_for, &known).await?
    {
        last_written.remember(&answers);
        return Ok(answers);
    }
    let answers = append_onto_snapshot(pool, batches, waited_for).await?;
    last_written.remember(&answers);
    Ok(answers)
}

/// The head this writer itself wrote last, and its `recorded_at`. With one writer per process
/// it is the log's head unless another process appended since.
#[derive(Default)]
pub(crate) struct LastWritten(std::sync::Mutex<Option<(LogHead, DateTime<Utc>)>>);

impl LastWritten {
    fn take(&self) -> Option<(LogHead, DateTime<Utc>)> {
        self.0.lock().ok().and_then(|mut k| k.take())
    }

    fn remember(&self, answers: &[Result<AppendAttempt, StoreError>]) {
        if let (Some(e), Ok(mut known)) = (group::last_written(answers), self.0.lock()) {
            let head = LogHead {
                position: e.position,
                hash: e.hash.clone(),
            };
            *known = Some((head, e.recorded_at));
        }
    }
}

/// The one-round-trip append: when every append of the group can be accepted as it stands
/// (each stream at the version its writer expects, as far as the group itself shows), the
/// events are sealed onto the head this writer wrote last and written with the head's guard.
/// The database refuses it whole if anything is off — another process moved the head, a
/// stream is not at its expected version (primary key), an id is stored (unique) — and then
/// `None` sends the group to [`append_onto_snapshot`], which reads and decides properly.
async fn append_onto_known_head(
    pool: &PgPool,
    batches: &[&[StreamAppend]],
    waited_for: group::WaitedFor<'_>,
    (head, last_at): &(LogHead, DateTime<Utc>),
) -> Result<Option<Vec<Result<AppendAttempt, StoreError>>>, StoreError> {
    let mut expected = HashMap::new();
    for s in batches.iter().flat_map(|b| b.iter()) {
        expected.entry(s.stream.clone()).or_insert(s.expected.0);
    }
    let verdicts = group::plan(batches, &expected, &HashSet::new(), waited_for);
    if !verdicts.iter().all(|v| matches!(v, group::Verdict::Accept)) {
        return Ok(None);
    }
    let sealed = group::seal_group(batches, &verdicts, head, recorded_after(Some(*last_at)));
    let all: Vec<&RecordedEvent> = sealed.iter().flatten().collect();
    if all.len() > INSERT_CHUNK {
        return Ok(None);
    }
    match write_at_head(pool, head, &all).await {
        Ok(()) => Ok(Some(group::answers(verdicts, sealed))),
        Err(sqlx::Error::Database(_)) => Ok(None),
        Err(other) => Err(other.into()),
    }
}

/// The two-round-trip append of the module doc: read, decide, seal, write with the head's
/// guard; read again if another process moved the head.
async fn append_onto_snapshot(
    pool: &PgPool,
    batches: &[&[StreamAppend]],
    waited_for: group::WaitedFor<'_>,
) -> Result<Vec<Result<AppendAttempt, StoreError>>, StoreError> {
    // Another server appending without pause, or holding the head's lock for a long import,
    // could keep this waiting: give up eventually, with a retryable error.
    let deadline = std::time::Instant::now() + GIVE_UP_AFTER;
    let streams = group::streams(batches);
    let ids = group::event_ids(batches);
    while std::time::Instant::now() < deadline {
        let snapshot = read_snapshot(pool, &streams, &ids).await?;
        let verdicts = group::plan(batches, &snapshot.versions, &snapshot.known, waited_for);
        if !verdicts.iter().any(|v| matches!(v, group::Verdict::Accept)) {
            return Ok(group::answers(verdicts, vec![Vec::new(); batches.len()]));
        }
        let sealed = group::seal_group(
            batches,
            &verdicts,
            &snapshot.head,
            recorded_after(snapshot.last_at),
        );
        let all: Vec<&RecordedEvent> = sealed.iter().flatten().collect();
        if all.len() > INSERT_CHUNK {
            return append_locked(pool, batches, waited_for).await;
        }
        match write_at_head(pool, &snapshot.head, &all).await {
            Ok(()) => return Ok(group::answers(verdicts, sealed)),
            // Someone holds the head's lock for longer than a commit takes (a large append or
            // an import): wait for it under the lock instead.
            Err(e) if lock_not_granted(&e) => {
                return append_locked(pool, batches, waited_for).await;
            }
            Err(e) if head_moved(&e) => tokio::task::yield_now().await,
            // Only one append: answer it as the single append it is.
            Err(err) if batches.len() == 1 => return Ok(vec![classify_insert_error(err)]),
            Err(err) => return Err(err.into()),
        }
    }
    Err(StoreError::Unavailable(format!(
        "the log head kept moving for {GIVE_UP_AFTER:?}; another writer is busy"
    )))
}

/// The group written in one transaction that holds the head's row lock: for groups too large
/// for one statement, and when the lock is held long by someone else. The group is decided
/// again once the lock is granted, so appends whose callers stopped waiting meanwhile are not
/// written behind their backs.
async fn append_locked(
    pool: &PgPool,
    batches: &[&[StreamAppend]],
    waited_for: group::WaitedFor<'_>,
) -> Result<Vec<Result<AppendAttempt, StoreError>>, StoreError> {
    let streams = group::streams(batches);
    let ids = group::event_ids(batches);
    let mut tx = pool.begin().await?;
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SET LOCAL lock_timeout = '{}s'",
        GIVE_UP_AFTER.as_secs()
    )))
    .execute(&mut *tx)
    .await?;
    let head = lock_head(&mut tx).await?;
    // A statement after the lock: in READ COMMITTED it sees everything committed before the
    // lock was granted, and nobody can append while we hold it.
    let snapshot = read_snapshot(&mut *tx, &streams, &ids).await?;
    let verdicts = group::plan(batches, &snapshot.versions, &snapshot.known, waited_for);
    if !verdicts.iter().any(|v| matches!(v, group::Verdict::Accept)) {
        tx.rollback().await?;
        return Ok(group::answers(verdicts, vec![Vec::new(); batches.len()]));
    }
    let sealed = group::seal_group(batches, &verdicts, &head, recorded_after(snapshot.last_at));
    let all: Vec<&RecordedEvent> = sealed.iter().flatten().collect();
    match write_events(&mut tx, &all).await {
        Ok(()) => {}
        Err(err) if batches.len() == 1 => return Ok(vec![classify_insert_error(err)]),
        Err(err) => return Err(err.into()),
    }
    tx.commit().await?;
    Ok(group::answers(verdicts, sealed))
}

/// How long a group keeps trying while other writers move or lock the head.
const GIVE_UP_AFTER: std::time::Duration = std::time::Duration::from_secs(30);

/// How long the writer's single-statement appends wait for a lock (the head's row, or the
/// unique `position` of a row another writer is inserting) before turning to
/// [`append_locked`]. A commit takes far less; a longer hold is an import or a large append,
/// and waiting for those under the lock lets appends whose callers stopped waiting be dropped
/// instead of written behind their backs once the lock comes free.
const LOCK_TIMEOUT: &str = "100ms";

/// The writer task's own connection (see [`crate::group`]): one, since one group is written
/// at a time, with a short `lock_timeout`, and with sequential scans ruled out. Every query
/// the writer runs has an index to use (position, event id, stream and version, the head's
/// key), but its statements are prepared once per connection, and a generic plan made while
/// `events` was empty (a new database, before autovacuum's first ANALYZE) scans the whole
/// table for each lookup until statistics arrive — milliseconds per append on a log that grew
/// meanwhile.
pub(crate) fn writer_pool(pool: &PgPool) -> PgPool {
    let options = (*pool.connect_options())
        .clone()
        .options([("lock_timeout", LOCK_TIMEOUT), ("enable_seqscan", "off")]);
    crate::store::pg_pool_options()
        .max_connections(1)
        .acquire_timeout(std::time::Duration::from_secs(5))
        .connect_lazy_with(options)
}

/// What an append is decided and sealed against, read in one snapshot.
struct Snapshot {
    head: LogHead,
    last_at: Option<DateTime<Utc>>,
    versions: HashMap<StreamId, u64>,
    known: HashSet<Uuid>,
}

async fn read_snapshot<'c, E>(
    executor: E,
    streams: &[&StreamId],
    ids: &[Uuid],
) -> Result<Snapshot, StoreError>
where
    E: sqlx::Executor<'c, Database = Postgres>,
{
    let types: Vec<&str> = streams.iter().map(|s| s.stream_type()).collect();
    let stream_ids: Vec<&str> = streams.iter().map(|s| s.id()).collect();
    // Three kinds of row: the head ('h'), a stream's version ('v', numbered as given) and a
    // stored event id ('k').
    let rows = sqlx::query(
        "SELECT 'h' AS kind, NULL::bigint AS n, h.position AS number, h.hash AS hash, \
                (SELECT e.recorded_at FROM events e WHERE e.position = h.position) AS at, \
                NULL::uuid AS known \
         FROM log_head h WHERE h.id = 1 \
         UNION ALL \
         SELECT 'v', s.n, (SELECT max(e.version) FROM events e \
                            WHERE e.stream_type = s.stream_type AND e.stream_id = s.stream_id), \
                NULL, NULL, NULL \
         FROM unnest($2::text[], $3::text[]) WITH ORDINALITY AS s(stream_type, stream_id, n) \
         UNION ALL \
         SELECT 'k', NULL, NULL, NULL, NULL, event_id FROM events WHERE event_id = ANY($1)",
    )
    .bind(ids)
    .bind(&types)
    .bind(&stream_ids)
    .fetch_all(executor)
    .await?;
    let mut head = None;
    let mut last_at = None;
    let mut versions = HashMap::with_capacity(streams.len());
    let mut known = HashSet::new();
    for row in &rows {
        match row.try_get::<&str, _>("kind")? {
            "h" => {
                head = Some(LogHead {
                    position: to_u64(row.try_get::<i64, _>("number")?),
                    hash: row.try_get("hash")?,
                });
                last_at = row.try_get("at")?;
            }
            "v" => {
                let n = row.try_get::<i64, _>("n")?;
                let stream = usize::try_from(n - 1)
                    .ok()
                    .and_then(|i| streams.get(i))
                    .ok_or_else(|| StoreError::Corrupt(format!("stream row {n} out of range")))?;
                let version = row.try_get::<Option<i64>, _>("number")?.map(to_u64);
                versions.insert((*stream).clone(), version.unwrap_or(0));
            }
            _ => {
                known.insert(row.try_get::<Uuid, _>("known")?);
            }
        }
    }
    let head = head.ok_or_else(|| StoreError::Corrupt("the log_head row is missing".into()))?;
    Ok(Snapshot {
        head,
        last_at,
        versions,
        known,
    })
}

/// Events per insert statement: PostgreSQL allows 65,535 bound parameters; 19 per row.
const INSERT_CHUNK: usize = 1000;

/// Inserts events sealed onto `head` in one autocommitted statement that also moves the head,
/// only if it is still `head`, and announces it. Fails as a whole if the head moved.
async fn write_at_head(
    pool: &PgPool,
    head: &LogHead,
    events: &[&RecordedEvent],
) -> Result<(), sqlx::Error> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    let mut q = insert_statement(events, true);
    push_head_update(&mut q, last, Some(head));
    q.build().execute(pool).await?;
    Ok(())
}

/// Continues an `insert_statement(…, true)`: moves the head to `last` and announces it, in the
/// same statement (data-modifying WITH clauses run exactly once). With a `guard`, only if the
/// head is still that one: no row updated means another writer moved the head after we read
/// it (its events then collide with ours on `position` first, in practice), and the statement
/// divides by zero so that all of it, inserts included, is undone.
fn push_head_update(q: &mut QueryBuilder<Postgres>, last: &RecordedEvent, guard: Option<&LogHead>) {
    q.push(" RETURNING 1), head AS (UPDATE log_head SET position = ")
        .push_bind(to_i64(last.position))
        .push(", hash = ")
        .push_bind(last.hash.clone())
        .push(" WHERE id = 1");
    if let Some(head) = guard {
        q.push(" AND position = ")
            .push_bind(to_i64(head.position))
            .push(" AND hash = ")
            .push_bind(head.hash.clone());
    }
    q.push(" RETURNING 1) SELECT pg_notify(")
        .push_bind(NOTIFY_CHANNEL)
        .push(", ")
        .push_bind(last.position.to_string())
        .push(")");
    if guard.is_some() {
        q.push(", 1 / (SELECT count(*)::int FROM head) AS head_was_current");
    }
}

/// True when a write failed only because another writer moved the head after it was read:
/// its positions collided (unique `position`) or the head's guard divided by zero.
fn head_moved(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db)
        if db.constraint() == Some("events_position_key") || db.code().as_deref() == Some("22012"))
}

/// True when a lock (the head's row, or the `position` of a row another writer is inserting)
/// was not granted within [`LOCK_TIMEOUT`].
fn lock_not_granted(err: &sqlx::Error) -> bool {
    matches!(err, sqlx::Error::Database(db) if db.code().as_deref() == Some("55P03"))
}

/// Appends already-recorded events exactly as they are (see
/// [`crate::EventStore::import_verbatim`]); the extract itself was checked by the caller.
pub(crate) async fn import_verbatim(
    pool: &PgPool,
    events: &[RecordedEvent],
) -> Result<(), StoreError> {
    let mut tx = pool.begin().await?;
    let head = lock_head(&mut tx).await?;
    import::check_continues(&head, events)?;
    for (stream, expected) in import::stream_starts(events) {
        let actual = current_version(&mut tx, stream).await?;
        import::check_stream_version(stream, expected, actual)?;
    }
    let rows: Vec<&RecordedEvent> = events.iter().collect();
    write_events(&mut tx, &rows)
        .await
        .map_err(import::insert_error)?;
    tx.commit().await?;
    Ok(())
}

/// Takes the log head's row lock, held until the transaction ends.
async fn lock_head(tx: &mut sqlx::Transaction<'_, Postgres>) -> Result<LogHead, StoreError> {
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1 FOR UPDATE")
        .fetch_one(&mut **tx)
        .await?;
    Ok(LogHead {
        position: to_u64(row.try_get::<i64, _>("position")?),
        hash: row.try_get("hash")?,
    })
}

/// Inserts recorded events, moves the head to the last of them and announces it. The caller
/// holds the head lock and has chained the events onto the head.
async fn write_events(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    events: &[&RecordedEvent],
) -> Result<(), sqlx::Error> {
    let Some(last) = events.last() else {
        return Ok(());
    };
    // The last chunk also moves the head and announces it.
    let chunks: Vec<&[&RecordedEvent]> = events.chunks(INSERT_CHUNK).collect();
    for (i, chunk) in chunks.iter().enumerate() {
        let final_chunk = i + 1 == chunks.len();
        let mut q = insert_statement(chunk, final_chunk);
        if final_chunk {
            push_head_update(&mut q, last, None);
        }
        q.build().execute(&mut **tx).await?;
    }
    Ok(())
}

/// `INSERT INTO events … VALUES …` for up to [`INSERT_CHUNK`] events; `in_with` opens it as
/// the first clause of a `WITH inserted AS (…` for the caller to continue.
fn insert_statement(events: &[&RecordedEvent], in_with: bool) -> QueryBuilder<Postgres> {
    let mut q = QueryBuilder::<Postgres>::new(if in_with {
        format!("WITH inserted AS (INSERT INTO events ({EVENT_COLUMNS}) ")
    } else {
        format!("INSERT INTO events ({EVENT_COLUMNS}) ")
    });
    q.push_values(events.iter(), |mut row, e| {
        row.push_bind(to_i64(e.position))
            .push_bind(e.event_id)
            .push_bind(e.stream.stream_type())
            .push_bind(e.stream.id())
            .push_bind(to_i64(e.version))
            .push_bind(&e.event_type)
            .push_bind(e.schema_version as i32)
            .push_bind(&e.payload_text)
            .push_bind(&e.actor.subject)
            .push_bind(&e.actor.display_name)
            .push_bind(&e.actor.role)
            .push_bind(&e.actor.organisation)
            .push_bind(&e.reason)
            .push_bind(e.correlation_id)
            .push_bind(e.causation_id)
            .push_bind(e.recorded_at)
            .push_bind(e.effective_at)
            .push_bind(&e.prev_hash)
            .push_bind(&e.hash);
    });
    q
}

/// A unique violation on insert means a concurrent writer got there first: on the primary key
/// it took our version (a conflict), on `event_id` it stored our events (a repeat).
fn classify_insert_error(err: sqlx::Error) -> Result<AppendAttempt, StoreError> {
    match &err {
        sqlx::Error::Database(db) if db.is_unique_violation() => {
            if db.constraint() == Some("events_event_id_key") {
                Ok(AppendAttempt::AlreadyStored)
            } else {
                Ok(AppendAttempt::VersionRace)
            }
        }
        _ => Err(err.into()),
    }
}

async fn current_version(
    tx: &mut sqlx::Transaction<'_, Postgres>,
    stream: &StreamId,
) -> Result<u64, StoreError> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT max(version) FROM events WHERE stream_type = $1 AND stream_id = $2",
    )
    .bind(stream.stream_type())
    .bind(stream.id())
    .fetch_one(&mut **tx)
    .await?;
    Ok(v.map(to_u64).unwrap_or(0))
}

pub(crate) async fn stream_version(pool: &PgPool, stream: &StreamId) -> Result<u64, StoreError> {
    let v: Option<i64> = sqlx::query_scalar(
        "SELECT max(version) FROM events WHERE stream_type = $1 AND stream_id = $2",
    )
    .bind(stream.stream_type())
    .bind(stream.id())
    .fetch_one(pool)
    .await?;
    Ok(v.map(to_u64).unwrap_or(0))
}

pub(crate) async fn events_by_id(
    pool: &PgPool,
    ids: &[Uuid],
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE event_id = ANY($1) ORDER BY position");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(ids)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

pub(crate) async fn read_by_causation(
    pool: &PgPool,
    causation_id: Uuid,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql =
        format!("SELECT {EVENT_COLUMNS} FROM events WHERE causation_id = $1 ORDER BY position");
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(causation_id)
        .fetch_all(pool)
        .await?
        .iter()
        .map(decode)
        .collect()
}

pub(crate) async fn stream_ids(
    pool: &PgPool,
    stream_type: &str,
) -> Result<Vec<String>, StoreError> {
    Ok(sqlx::query_scalar(
        "SELECT DISTINCT stream_id FROM events WHERE stream_type = $1 ORDER BY stream_id",
    )
    .bind(stream_type)
    .fetch_all(pool)
    .await?)
}

pub(crate) async fn read_stream(
    pool: &PgPool,
    stream: &StreamId,
    after_version: u64,
    parse_payload: bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE stream_type = $1 AND stream_id = $2 \
         AND version > $3 ORDER BY version"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(stream.stream_type())
        .bind(stream.id())
        .bind(to_i64(after_version))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| decode_with(row, parse_payload))
        .collect()
}

pub(crate) async fn read_all(
    pool: &PgPool,
    after_position: u64,
    limit: u32,
    parse_payload: bool,
) -> Result<Vec<RecordedEvent>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE position > $1 ORDER BY position LIMIT $2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(to_i64(after_position))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?
        .iter()
        .map(|row| decode_with(row, parse_payload))
        .collect()
}

pub(crate) async fn head(pool: &PgPool) -> Result<LogHead, StoreError> {
    let row = sqlx::query("SELECT position, hash FROM log_head WHERE id = 1")
        .fetch_one(pool)
        .await?;
    Ok(LogHead {
        position: to_u64(row.try_get::<i64, _>("position")?),
        hash: row.try_get("hash")?,
    })
}

pub(crate) async fn position_at(pool: &PgPool, t: DateTime<Utc>) -> Result<u64, StoreError> {
    let row =
        sqlx::query("SELECT COALESCE(MAX(position), 0) AS p FROM events WHERE recorded_at <= $1")
            .bind(t)
            .fetch_one(pool)
            .await?;
    Ok(to_u64(row.try_get::<i64, _>("p")?))
}

/// The hash of the event at `position`, and each stream's last version before it; the state a
/// verification starting at `position` continues from.
pub(crate) async fn chain_state_before(
    pool: &PgPool,
    position: u64,
) -> Result<(Option<String>, HashMap<StreamId, u64>), StoreError> {
    let prev: Option<String> = sqlx::query_scalar("SELECT hash FROM events WHERE position = $1")
        .bind(to_i64(position.saturating_sub(1)))
        .fetch_optional(pool)
        .await?;
    let rows = sqlx::query(
        "SELECT stream_type, stream_id, max(version) AS version FROM events \
         WHERE position < $1 GROUP BY stream_type, stream_id",
    )
    .bind(to_i64(position))
    .fetch_all(pool)
    .await?;
    let mut versions = HashMap::with_capacity(rows.len());
    for r in rows {
        let stream = StreamId::new(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?)
            .map_err(|e| StoreError::Corrupt(e.to_string()))?;
        versions.insert(stream, to_u64(r.try_get::<i64, _>(2)?));
    }
    Ok((prev, versions))
}

pub(crate) async fn applied_migrations(pool: &PgPool) -> Result<Vec<i64>, StoreError> {
    Ok(
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(pool)
            .await?,
    )
}

fn decode(row: &PgRow) -> Result<RecordedEvent, StoreError> {
    decode_with(row, true)
}

/// Decodes a row selected as [`EVENT_COLUMNS`], by column position (a lookup by name for each
/// of 19 columns showed in replays of the whole log); without `parse_payload` the payload stays
/// text only (`payload` is null), for readers that decode the text themselves.
fn decode_with(row: &PgRow, parse_payload: bool) -> Result<RecordedEvent, StoreError> {
    let corrupt = |e: String| StoreError::Corrupt(e);
    let payload_text: String = row.try_get(7)?;
    let payload = if parse_payload {
        serde_json::from_str(&payload_text)
            .map_err(|e| corrupt(format!("payload is not JSON: {e}")))?
    } else {
        serde_json::Value::Null
    };
    Ok(RecordedEvent {
        position: to_u64(row.try_get(0)?),
        event_id: row.try_get(1)?,
        stream: StreamId::new(row.try_get::<String, _>(2)?, row.try_get::<String, _>(3)?)
            .map_err(|e| corrupt(e.to_string()))?,
        version: to_u64(row.try_get(4)?),
        event_type: row.try_get(5)?,
        schema_version: row.try_get::<i32, _>(6)? as u32,
        payload,
        payload_text,
        actor: Actor {
            subject: row.try_get(8)?,
            display_name: row.try_get(9)?,
            role: row.try_get(10)?,
            organisation: row.try_get(11)?,
        },
        reason: row.try_get(12)?,
        correlation_id: row.try_get(13)?,
        causation_id: row.try_get(14)?,
        recorded_at: row.try_get::<DateTime<Utc>, _>(15)?,
        effective_at: row.try_get::<DateTime<Utc>, _>(16)?,
        prev_hash: row.try_get(17)?,
        hash: row.try_get(18)?,
    })
}

fn to_i64(v: u64) -> i64 {
    i64::try_from(v).unwrap_or(i64::MAX)
}

fn to_u64(v: i64) -> u64 {
    u64::try_from(v).unwrap_or(0)
}
